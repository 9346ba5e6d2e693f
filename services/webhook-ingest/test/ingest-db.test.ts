// The ingest's pool (createIngestDb, as main.ts makes it): the time status events' statement is prepared once
// per connection and planned on every call, so its plan follows align_webhook_deliveries as it grows.
import { createHash, randomUUID } from 'node:crypto'
import { Writable } from 'node:stream'
import { createLogger } from '@illumera/service-kit'
import { useTestDatabase } from '@illumera/test-harness'
import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { applyStatusEvents } from '../src/deliveries/deliveries.queries.js'
import { statusesWhereEventApplies } from '../src/events/time-entry-events.js'
import { createIngestDb } from '../src/ingest-db.js'
import { seedConnection, seedLinkedEntry, startIngest } from './helpers/ingest.js'

const t = useTestDatabase()

describe('createIngestDb', () => {
  it('prepares the status events statement once per connection, with a custom plan on every call', async () => {
    const logger = createLogger({ destination: new Writable({ write(_c, _e, done) { done() } }) })
    const db = createIngestDb(t.url, logger, { max: 1 })
    try {
      const seeded = await seedConnection(t.db, (await startIngest(t.db)).secretBox)
      const { v } = await t.db.selectFrom('align_connections').select(sql<string>`updated_at::text`.as('v')).where('id', '=', seeded.connection.id).executeTakeFirstOrThrow()
      for (let i = 0; i < 3; i++) {
        const { alignId } = await seedLinkedEntry(t.db, seeded, 'submitted')
        const body = JSON.stringify({ organizationId: seeded.orgId, data: { id: alignId } })
        const [outcome] = await applyStatusEvents(db, [{
          record: { deliveryId: randomUUID(), eventName: 'time.approved', connection: seeded.connection, payloadJson: body, bodySha256: createHash('sha256').update(body).digest('hex') },
          connectionRowVersion: v, since: new Date(Date.now() - 60_000), now: new Date(), alignEntryId: alignId, illumeraEntryId: null,
          target: 'approved', appliesFrom: statusesWhereEventApplies('approved'),
        }])
        expect(outcome).toMatchObject({ inserted: true, applied: true })
      }
      // max: 1, so this is the session that ran the statements.
      const { rows } = await sql<{ mode: string; name: string; generic_plans: string; custom_plans: string }>`
        select current_setting('plan_cache_mode') as mode, name, generic_plans::text, custom_plans::text from pg_prepared_statements`.execute(db)
      expect(rows).toEqual([{ mode: 'force_custom_plan', name: expect.stringMatching(/^ps_[0-9a-f]{24}$/), generic_plans: '0', custom_plans: '3' }])
    } finally {
      await db.destroy()
    }
  })
})
