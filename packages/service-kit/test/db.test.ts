import { useTestDatabase } from '@illumera/test-harness'
import { createDb, migrateToLatest } from '@illumera/db-schema'
import { describe, expect, it } from 'vitest'
import { createLogger, createServiceDb, databaseCheck } from '../src/index.js'
import { Writable } from 'node:stream'

describe('createServiceDb', () => {
  const t = useTestDatabase()

  it('connects, and the readiness check passes; a dead server fails it', async () => {
    const logger = createLogger({ destination: new Writable({ write(_c, _e, d) { d() } }) })
    const db = createServiceDb(t.url, logger, { name: 'test', max: 2 })
    await expect(databaseCheck(db)()).resolves.toBeUndefined()
    await db.destroy()
    const dead = createDb('postgres://nobody:x@127.0.0.1:1/none', { max: 1 })
    await expect(databaseCheck(dead)()).rejects.toThrow()
    await dead.destroy()
    // the template was migrated, so migrating again is a no-op
    expect(await migrateToLatest(t.db)).toEqual([])
  })
})
