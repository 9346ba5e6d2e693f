// The worker's pool (createWorkerDb, as main.ts makes it): the queue's statements are prepared once per
// connection and planned on every call, so a claim's plan follows the outbox from empty to a backlog.
import { Writable } from 'node:stream'
import { startAlignSandbox } from '@illumera/align-sandbox'
import { createLogger } from '@illumera/service-kit'
import { useTestDatabase } from '@illumera/test-harness'
import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { createWorkerDb } from '../src/worker-db.js'
import { makeWorker } from './helpers/setup.js'

const t = useTestDatabase()

describe('createWorkerDb', () => {
  it('plans the prepared claim on every call, never with a generic plan made while the outbox was small', async () => {
    const logger = createLogger({ destination: new Writable({ write(_c, _e, done) { done() } }) })
    const db = createWorkerDb(t.url, logger, { max: 1 })
    const sandbox = await startAlignSandbox({ port: 0, rateLimitPerMinute: 0 })
    try {
      // PostgreSQL switches a prepared statement to its generic plan after five custom ones: run more.
      const { worker } = makeWorker(db, sandbox)
      for (let i = 0; i < 8; i++) expect(await worker.runOnce()).toMatchObject({ claimed: 0 })
      // max: 1, so this is the session that ran the statements.
      const { rows } = await sql<{ mode: string; statement: string; generic_plans: string; custom_plans: string }>`
        select current_setting('plan_cache_mode') as mode, statement, generic_plans::text, custom_plans::text from pg_prepared_statements`.execute(db)
      const claim = rows.find((r) => r.statement.includes('with picked as'))
      expect(claim).toMatchObject({ mode: 'force_custom_plan', generic_plans: '0', custom_plans: '8' })
      expect(rows.every((r) => r.generic_plans === '0')).toBe(true)
    } finally {
      await sandbox.close()
      await db.destroy()
    }
  })
})
