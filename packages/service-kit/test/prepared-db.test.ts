import { Writable } from 'node:stream'
import { useTestDatabase } from '@illumera/test-harness'
import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { createLogger, createPreparingServiceDb, PREPARED_STATEMENT_MARKER } from '../src/index.js'

describe('createPreparingServiceDb', () => {
  const t = useTestDatabase()

  it('prepares a marked statement once per connection, reuses it with new values, and leaves other queries unnamed', async () => {
    const logger = createLogger({ destination: new Writable({ write(_c, _e, d) { d() } }) })
    const db = createPreparingServiceDb(t.url, logger, { name: 'test', max: 1 })
    try {
      const marked = (n: number) => sql<{ doubled: number }>`${sql.raw(PREPARED_STATEMENT_MARKER)} select ${n}::integer * 2 as doubled`.execute(db)
      expect((await marked(2)).rows).toEqual([{ doubled: 4 }])
      expect((await marked(21)).rows).toEqual([{ doubled: 42 }])
      await sql`select 1 as plain`.execute(db)
      // max: 1, so this runs on the same session as the statements above.
      const prepared = await sql<{ name: string; statement: string; calls: string }>`
        select name, statement, (generic_plans + custom_plans)::text as calls from pg_prepared_statements`.execute(db)
      expect(prepared.rows).toHaveLength(1)
      expect(prepared.rows[0]!.name).toMatch(/^ps_[0-9a-f]{24}$/)
      expect(prepared.rows[0]!.statement.startsWith(PREPARED_STATEMENT_MARKER)).toBe(true)
      expect(prepared.rows[0]!.calls).toBe('2')
    } finally {
      await db.destroy()
    }
  })
})
