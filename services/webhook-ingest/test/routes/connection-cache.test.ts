// The connection cache never accepts or refuses on stale data: a change of the connection row (disconnect,
// secret rotation) takes effect on the very next delivery, on the one-statement path and the transaction.
import { randomUUID } from 'node:crypto'
import { encryptConnectionSecret } from '@illumera/service-kit'
import { useTestDatabase } from '@illumera/test-harness'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findDelivery, findEntry, type IngestApp, post, seedConnection, seedLinkedEntry, signed, snapshot, startIngest } from '../helpers/ingest.js'

const t = useTestDatabase()
let ingest: Awaited<ReturnType<typeof startIngest>>
let app: IngestApp

beforeAll(async () => {
  ingest = await startIngest(t.db, { connectionCacheTtlMs: 60_000 })
  app = ingest.app
})
afterAll(async () => {
  await app.close()
})

describe('connection cache', () => {
  for (const event of ['time.approved', 'wiki_page.created'] as const) {
    it(`${event}: a connection disconnected after it was cached → 404, nothing written`, async () => {
      const seeded = await seedConnection(t.db, ingest.secretBox)
      const first = await seedLinkedEntry(t.db, seeded, 'submitted')
      expect((await post(app, signed(seeded.secret, 'time.approved', { organizationId: seeded.orgId, data: { id: first.alignId } }))).statusCode).toBe(200)
      await t.db.updateTable('align_connections').set({ status: 'disconnected' }).where('id', '=', seeded.connection.id).execute()
      const second = await seedLinkedEntry(t.db, seeded, 'submitted')
      const before = await snapshot(t.db)
      const res = await post(app, signed(seeded.secret, event, { organizationId: seeded.orgId, data: { id: second.alignId } }))
      expect(res.statusCode).toBe(404)
      expect(await snapshot(t.db)).toEqual(before)
      expect((await findEntry(t.db, second.entry.id)).status).toBe('submitted')
    })
  }

  it('after a secret rotation the old secret is refused (401, nothing written) and the new one accepted at once', async () => {
    const seeded = await seedConnection(t.db, ingest.secretBox)
    const first = await seedLinkedEntry(t.db, seeded, 'submitted')
    expect((await post(app, signed(seeded.secret, 'time.approved', { organizationId: seeded.orgId, data: { id: first.alignId } }))).statusCode).toBe(200)
    const rotated = `whsec_${randomUUID()}`
    await t.db.updateTable('align_connections')
      .set({ webhook_secret: encryptConnectionSecret(ingest.secretBox, seeded.connection.id, 'webhook_secret', rotated) })
      .where('id', '=', seeded.connection.id).execute()
    const second = await seedLinkedEntry(t.db, seeded, 'submitted')
    const before = await snapshot(t.db)
    const stale = signed(seeded.secret, 'time.approved', { organizationId: seeded.orgId, data: { id: second.alignId } })
    expect((await post(app, stale)).statusCode).toBe(401)
    expect(await snapshot(t.db)).toEqual(before)
    const fresh = signed(rotated, 'time.approved', { organizationId: seeded.orgId, data: { id: second.alignId } })
    expect((await post(app, fresh)).statusCode).toBe(200)
    expect((await findEntry(t.db, second.entry.id)).status).toBe('approved')
    expect(await findDelivery(t.db, fresh.headers['x-align-delivery-id']!)).toMatchObject({ status: 'processed', error: null })
  })
})
