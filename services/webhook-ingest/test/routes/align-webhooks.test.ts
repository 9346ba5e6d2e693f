// The pipeline through HTTP (inject): the reference's testing-guide scenarios, every header and body
// error, connections, signatures, timestamps, dedup of processed deliveries only, failure and retry,
// and replays under new delivery ids. Every refused request leaves the database as it was.
import { randomUUID } from 'node:crypto'
import { signAlignWebhook } from '@illumera/align-gateway'
import { useTestDatabase } from '@illumera/test-harness'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  findDelivery, findEntry, type IngestApp, metricValue, post, seedConnection, seedLinkedEntry, signed, snapshot, startIngest,
} from '../helpers/ingest.js'

const t = useTestDatabase()
let ingest: Awaited<ReturnType<typeof startIngest>>
let app: IngestApp

beforeAll(async () => {
  ingest = await startIngest(t.db)
  app = ingest.app
})
afterAll(async () => {
  await app.close()
})

describe('reference testing guide', () => {
  it('time.approved moves the linked submitted entry to approved and synced', async () => {
    const seeded = await seedConnection(t.db, ingest.secretBox)
    const { entry, alignId } = await seedLinkedEntry(t.db, seeded, 'submitted')
    const request = signed(seeded.secret, 'time.approved', { organizationId: seeded.orgId, data: { id: alignId } })
    const res = await post(app, request)
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ received: true })
    const after = await findEntry(t.db, entry.id)
    expect(after.status).toBe('approved')
    expect(after.sync_status).toBe('synced')
    const delivery = await findDelivery(t.db, request.headers['x-align-delivery-id']!)
    expect(delivery).toMatchObject({ status: 'processed', event_name: 'time.approved', tenant_id: seeded.scope.tenantId, company_id: seeded.scope.companyId, connection_id: seeded.connection.id, error: null })
    expect(delivery?.processed_at).toBeInstanceOf(Date)
    expect(delivery?.payload).toEqual({ organizationId: seeded.orgId, data: { id: alignId } })
  })

  it('re-sending the same delivery id answers deduplicated and does not process twice', async () => {
    const seeded = await seedConnection(t.db, ingest.secretBox)
    const { entry, alignId } = await seedLinkedEntry(t.db, seeded, 'submitted')
    const deliveryId = randomUUID()
    const body = { organizationId: seeded.orgId, data: { id: alignId } }
    const first = await post(app, signed(seeded.secret, 'time.approved', body, deliveryId))
    expect(first.json()).toEqual({ received: true })
    const processedAt = (await findDelivery(t.db, deliveryId))!.processed_at
    const second = await post(app, signed(seeded.secret, 'time.approved', body, deliveryId))
    expect(second.statusCode).toBe(200)
    expect(second.json()).toEqual({ received: true, deduplicated: true })
    expect((await findDelivery(t.db, deliveryId))!.processed_at).toEqual(processedAt)
    expect((await findEntry(t.db, entry.id)).status).toBe('approved')
    const rows = await t.db.selectFrom('align_webhook_deliveries').select('id').where('delivery_id', '=', deliveryId).execute()
    expect(rows).toHaveLength(1)
  })

  it('takes organizationId from data when the root has none', async () => {
    const seeded = await seedConnection(t.db, ingest.secretBox)
    const { entry, alignId } = await seedLinkedEntry(t.db, seeded, 'approved')
    const res = await post(app, signed(seeded.secret, 'time.locked', { data: { id: alignId, organizationId: seeded.orgId } }))
    expect(res.statusCode).toBe(200)
    expect((await findEntry(t.db, entry.id)).status).toBe('locked')
  })
})

describe('refused requests change nothing', () => {
  const headerNames = [
    ['x-align-delivery-id', 'X-Align-Delivery-Id'],
    ['x-align-event', 'X-Align-Event'],
    ['x-align-timestamp', 'X-Align-Timestamp'],
    ['x-align-signature', 'X-Align-Signature'],
  ] as const

  for (const [name, display] of headerNames) {
    it(`missing ${display} → 400 naming it`, async () => {
      const seeded = await seedConnection(t.db, ingest.secretBox)
      const { entry, alignId } = await seedLinkedEntry(t.db, seeded, 'submitted')
      const request = signed(seeded.secret, 'time.approved', { organizationId: seeded.orgId, data: { id: alignId } })
      delete request.headers[name]
      const before = await snapshot(t.db)
      const res = await post(app, request)
      expect(res.statusCode).toBe(400)
      expect(res.json().message).toBe(`missing header ${display}`)
      expect(await snapshot(t.db)).toEqual(before)
      expect((await findEntry(t.db, entry.id)).status).toBe('submitted')
    })
  }

  it('an empty header counts as missing', async () => {
    const seeded = await seedConnection(t.db, ingest.secretBox)
    const request = signed(seeded.secret, 'time.approved', { organizationId: seeded.orgId, data: { id: 'x' } })
    request.headers['x-align-event'] = '  '
    const res = await post(app, request)
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toBe('missing header X-Align-Event')
  })

  const badBodies: Array<[string, string, string]> = [
    ['not JSON', '{"organizationId": ', 'body is not valid JSON'],
    ['a JSON array', '[1,2]', 'body must be a JSON object'],
    ['without organizationId', '{"data":{"id":"x"}}', 'body has no organizationId (at the root or in data)'],
    ['with a non-string organizationId', '{"organizationId":42,"data":{}}', 'body has no organizationId (at the root or in data)'],
  ]
  for (const [what, raw, message] of badBodies) {
    it(`a body ${what} → 400`, async () => {
      const seeded = await seedConnection(t.db, ingest.secretBox)
      const rawBody = Buffer.from(raw)
      const headers = signAlignWebhook({ secret: seeded.secret, rawBody, timestamp: new Date(), deliveryId: randomUUID(), event: 'time.approved' })
      const before = await snapshot(t.db)
      const res = await post(app, { headers: { ...headers }, rawBody })
      expect(res.statusCode).toBe(400)
      expect(res.json().message).toBe(message)
      expect(await snapshot(t.db)).toEqual(before)
    })
  }

  it('an empty body → 400', async () => {
    const seeded = await seedConnection(t.db, ingest.secretBox)
    const headers = signAlignWebhook({ secret: seeded.secret, rawBody: '', timestamp: new Date(), deliveryId: randomUUID(), event: 'time.approved' })
    const before = await snapshot(t.db)
    const res = await app.inject({ method: 'POST', url: '/api/webhooks/align', headers: { ...headers } })
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toBe('body is not valid JSON')
    expect(await snapshot(t.db)).toEqual(before)
  })

  it('unknown organization → 404', async () => {
    const seeded = await seedConnection(t.db, ingest.secretBox)
    const before = await snapshot(t.db)
    const res = await post(app, signed(seeded.secret, 'time.approved', { organizationId: 'org-nobody', data: { id: 'x' } }))
    expect(res.statusCode).toBe(404)
    expect(res.json().message).toContain('org-nobody')
    expect(await snapshot(t.db)).toEqual(before)
  })

  it('a disconnected connection → 404', async () => {
    const seeded = await seedConnection(t.db, ingest.secretBox, { status: 'disconnected' })
    const { entry, alignId } = await seedLinkedEntry(t.db, seeded, 'submitted')
    const before = await snapshot(t.db)
    const request = signed(seeded.secret, 'time.approved', { organizationId: seeded.orgId, data: { id: alignId } })
    expect((await post(app, request)).statusCode).toBe(404)
    expect((await post(app, request, `/api/webhooks/align/${seeded.connection.webhook_path_token}`)).statusCode).toBe(404)
    expect(await snapshot(t.db)).toEqual(before)
    expect((await findEntry(t.db, entry.id)).status).toBe('submitted')
  })

  it('a wrong secret → 401, and the delivery id stays usable', async () => {
    const seeded = await seedConnection(t.db, ingest.secretBox)
    const { entry, alignId } = await seedLinkedEntry(t.db, seeded, 'submitted')
    const deliveryId = randomUUID()
    const body = { organizationId: seeded.orgId, data: { id: alignId } }
    const before = await snapshot(t.db)
    const res = await post(app, signed('whsec_wrong', 'time.approved', body, deliveryId))
    expect(res.statusCode).toBe(401)
    expect(res.json()).toMatchObject({ statusCode: 401, code: 'invalid_signature', message: 'X-Align-Signature does not match the body' })
    expect(await snapshot(t.db)).toEqual(before)
    expect((await post(app, signed(seeded.secret, 'time.approved', body, deliveryId))).json()).toEqual({ received: true })
    expect((await findEntry(t.db, entry.id)).status).toBe('approved')
  })

  it('a body changed after signing → 401', async () => {
    const seeded = await seedConnection(t.db, ingest.secretBox)
    const { alignId } = await seedLinkedEntry(t.db, seeded, 'submitted')
    const request = signed(seeded.secret, 'time.approved', { organizationId: seeded.orgId, data: { id: alignId } })
    request.rawBody = Buffer.from(request.rawBody.toString().replace('}}', ',"x":1}}'))
    const before = await snapshot(t.db)
    expect((await post(app, request)).statusCode).toBe(401)
    expect(await snapshot(t.db)).toEqual(before)
  })

  it('a malformed signature → 401', async () => {
    const seeded = await seedConnection(t.db, ingest.secretBox)
    const request = signed(seeded.secret, 'time.approved', { organizationId: seeded.orgId, data: { id: 'x' } })
    request.headers['x-align-signature'] = 'md5=abc'
    const before = await snapshot(t.db)
    const res = await post(app, request)
    expect(res.statusCode).toBe(401)
    expect(res.json().message).toBe('header X-Align-Signature is not sha256=<64 hex digits>')
    expect(await snapshot(t.db)).toEqual(before)
  })

  for (const [what, offsetSeconds] of [['stale', -301], ['future', 301]] as const) {
    it(`a ${what} timestamp (${offsetSeconds} s) → 400`, async () => {
      const seeded = await seedConnection(t.db, ingest.secretBox)
      const { entry, alignId } = await seedLinkedEntry(t.db, seeded, 'submitted')
      const rawBody = Buffer.from(JSON.stringify({ organizationId: seeded.orgId, data: { id: alignId } }))
      const timestamp = Math.floor(Date.now() / 1000) + offsetSeconds
      const headers = signAlignWebhook({ secret: seeded.secret, rawBody, timestamp, deliveryId: randomUUID(), event: 'time.approved' })
      const before = await snapshot(t.db)
      const res = await post(app, { headers: { ...headers }, rawBody })
      expect(res.statusCode).toBe(400)
      expect(res.json().message).toBe('header X-Align-Timestamp is more than 300 s from now')
      expect(await snapshot(t.db)).toEqual(before)
      expect((await findEntry(t.db, entry.id)).status).toBe('submitted')
    })
  }

  it('a timestamp within 300 s is accepted', async () => {
    const seeded = await seedConnection(t.db, ingest.secretBox)
    const { entry, alignId } = await seedLinkedEntry(t.db, seeded, 'submitted')
    const rawBody = Buffer.from(JSON.stringify({ organizationId: seeded.orgId, data: { id: alignId } }))
    const headers = signAlignWebhook({ secret: seeded.secret, rawBody, timestamp: Math.floor(Date.now() / 1000) - 290, deliveryId: randomUUID(), event: 'time.approved' })
    expect((await post(app, { headers: { ...headers }, rawBody })).statusCode).toBe(200)
    expect((await findEntry(t.db, entry.id)).status).toBe('approved')
  })

  it('checks the signature before the timestamp (a stale delivery with a wrong secret is 401)', async () => {
    const seeded = await seedConnection(t.db, ingest.secretBox)
    const rawBody = Buffer.from(JSON.stringify({ organizationId: seeded.orgId, data: { id: 'x' } }))
    const headers = signAlignWebhook({ secret: 'whsec_wrong', rawBody, timestamp: 1_000_000, deliveryId: randomUUID(), event: 'time.approved' })
    expect((await post(app, { headers: { ...headers }, rawBody })).statusCode).toBe(401)
  })

  it('a delivery id longer than 200 characters → 400', async () => {
    const seeded = await seedConnection(t.db, ingest.secretBox)
    const res = await post(app, signed(seeded.secret, 'time.approved', { organizationId: seeded.orgId, data: {} }, 'd'.repeat(201)))
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toBe('header X-Align-Delivery-Id is longer than 200 characters')
  })

  it('counts refusals by reason in /metrics', async () => {
    const res = await app.inject({ method: 'GET', url: '/metrics' })
    expect(res.statusCode).toBe(200)
    expect(res.body).toMatch(/align_webhook_verification_failures_total\{reason="missing_header",service="webhook-ingest-test"\} [1-9]/)
    expect(res.body).toMatch(/align_webhook_verification_failures_total\{reason="bad_signature",service="webhook-ingest-test"\} [1-9]/)
    expect(res.body).toMatch(/align_webhook_verification_failures_total\{reason="stale_timestamp",service="webhook-ingest-test"\} [1-9]/)
    expect(res.body).toMatch(/align_webhook_deliveries_total\{event="time.approved",outcome="processed",service="webhook-ingest-test"\} [1-9]/)
    expect(res.body).toContain('align_webhook_handler_duration_seconds_bucket')
  })
})

describe('connections', () => {
  it('the path-token route finds its connection', async () => {
    const seeded = await seedConnection(t.db, ingest.secretBox)
    const { entry, alignId } = await seedLinkedEntry(t.db, seeded, 'submitted')
    const res = await post(app, signed(seeded.secret, 'time.approved', { organizationId: seeded.orgId, data: { id: alignId } }), `/api/webhooks/align/${seeded.connection.webhook_path_token}`)
    expect(res.statusCode).toBe(200)
    expect((await findEntry(t.db, entry.id)).status).toBe('approved')
  })

  it('a path token whose connection belongs to another organization → 404', async () => {
    const a = await seedConnection(t.db, ingest.secretBox)
    const b = await seedConnection(t.db, ingest.secretBox)
    const before = await snapshot(t.db)
    const res = await post(app, signed(b.secret, 'time.approved', { organizationId: b.orgId, data: { id: 'x' } }), `/api/webhooks/align/${a.connection.webhook_path_token}`)
    expect(res.statusCode).toBe(404)
    expect(await snapshot(t.db)).toEqual(before)
  })

  it('an unknown path token → 404', async () => {
    const seeded = await seedConnection(t.db, ingest.secretBox)
    const res = await post(app, signed(seeded.secret, 'time.approved', { organizationId: seeded.orgId, data: { id: 'x' } }), '/api/webhooks/align/no-such-token')
    expect(res.statusCode).toBe(404)
  })

  it("a connection in 'error' (Align rejected its API key) still receives", async () => {
    const seeded = await seedConnection(t.db, ingest.secretBox, { status: 'error' })
    const { entry, alignId } = await seedLinkedEntry(t.db, seeded, 'submitted')
    expect((await post(app, signed(seeded.secret, 'time.approved', { organizationId: seeded.orgId, data: { id: alignId } }))).statusCode).toBe(200)
    expect((await findEntry(t.db, entry.id)).status).toBe('approved')
  })

  it('two connections of one organization: the signature picks the one that sent it', async () => {
    const orgId = `org-${randomUUID()}`
    const a = await seedConnection(t.db, ingest.secretBox, { alignOrgId: orgId })
    const b = await seedConnection(t.db, ingest.secretBox, { alignOrgId: orgId, status: 'error' })
    const { entry, alignId } = await seedLinkedEntry(t.db, b, 'submitted')
    const request = signed(b.secret, 'time.approved', { organizationId: orgId, data: { id: alignId } })
    expect((await post(app, request)).statusCode).toBe(200)
    expect((await findEntry(t.db, entry.id)).status).toBe('approved')
    expect((await findDelivery(t.db, request.headers['x-align-delivery-id']!))?.connection_id).toBe(b.connection.id)
    expect(a.connection.id).not.toBe(b.connection.id)
  })

  it('accepts the previous secret during its grace period, and not after', async () => {
    const seeded = await seedConnection(t.db, ingest.secretBox, { previousSecret: 'whsec_old_secret', previousExpiresAt: new Date(Date.now() + 60_000) })
    const { entry, alignId } = await seedLinkedEntry(t.db, seeded, 'submitted')
    const body = (status: string) => ({ organizationId: seeded.orgId, data: { id: alignId, status } })
    expect((await post(app, signed('whsec_old_secret', 'time.approved', body('approved')))).statusCode).toBe(200)
    expect((await findEntry(t.db, entry.id)).status).toBe('approved')

    await t.db.updateTable('align_connections').set({ previous_webhook_secret_expires_at: new Date(Date.now() - 1000) }).where('id', '=', seeded.connection.id).execute()
    expect((await post(app, signed('whsec_old_secret', 'time.locked', body('locked')))).statusCode).toBe(401)
    expect((await findEntry(t.db, entry.id)).status).toBe('approved')
    expect((await post(app, signed(seeded.secret, 'time.locked', body('locked')))).statusCode).toBe(200)
    expect((await findEntry(t.db, entry.id)).status).toBe('locked')
  })
})

describe('failures and retries', () => {
  it('a handler failure answers 500 and records failed; the retry processes it once', async () => {
    const seeded = await seedConnection(t.db, ingest.secretBox)
    const { entry, alignId } = await seedLinkedEntry(t.db, seeded, 'submitted')
    // A real database failure on this entry's update, removed before the retry.
    const fn = `fail_${entry.id.replaceAll('-', '_')}`
    await sql.raw(`create function ${fn}() returns trigger language plpgsql as $$ begin raise exception 'simulated outage'; end $$`).execute(t.db)
    await sql.raw(`create trigger ${fn} before update on time_entries for each row when (old.id = '${entry.id}') execute function ${fn}()`).execute(t.db)
    const deliveryId = randomUUID()
    const body = { organizationId: seeded.orgId, data: { id: alignId } }
    const first = await post(app, signed(seeded.secret, 'time.approved', body, deliveryId))
    expect(first.statusCode).toBe(500)
    expect(first.body).not.toContain('simulated outage')
    const failed = await findDelivery(t.db, deliveryId)
    expect(failed).toMatchObject({ status: 'failed', connection_id: seeded.connection.id })
    expect(failed?.error).toContain('simulated outage')
    expect((await findEntry(t.db, entry.id)).status).toBe('submitted')

    await sql.raw(`drop trigger ${fn} on time_entries; drop function ${fn}()`).execute(t.db)
    const retry = await post(app, signed(seeded.secret, 'time.approved', body, deliveryId))
    expect(retry.statusCode).toBe(200)
    expect(retry.json()).toEqual({ received: true })
    expect(await findDelivery(t.db, deliveryId)).toMatchObject({ status: 'processed', error: null })
    expect((await findEntry(t.db, entry.id)).status).toBe('approved')
    const again = await post(app, signed(seeded.secret, 'time.approved', body, deliveryId))
    expect(again.json()).toEqual({ received: true, deduplicated: true })
    const rows = await t.db.selectFrom('align_webhook_deliveries').select('id').where('delivery_id', '=', deliveryId).execute()
    expect(rows).toHaveLength(1)
  })

  it('a replayed body under a new delivery id and fresh timestamp is recorded, not applied again', async () => {
    const seeded = await seedConnection(t.db, ingest.secretBox)
    const { entry, alignId } = await seedLinkedEntry(t.db, seeded, 'approved')
    const unlockBody = { organizationId: seeded.orgId, data: { id: alignId, status: 'draft', updatedAt: '2026-11-02T10:00:00.000Z' } }
    const original = signed(seeded.secret, 'time.unlocked', unlockBody)
    expect((await post(app, original)).statusCode).toBe(200)
    expect((await findEntry(t.db, entry.id)).status).toBe('draft')
    // The entry moves on (re-submitted in Illumera, approved in Align)...
    await t.db.updateTable('time_entries').set({ status: 'submitted' }).where('id', '=', entry.id).execute()
    expect((await post(app, signed(seeded.secret, 'time.approved', { organizationId: seeded.orgId, data: { id: alignId, status: 'approved', updatedAt: '2026-11-02T11:00:00.000Z' } }))).statusCode).toBe(200)
    // ...and an attacker replays the captured unlock with a new id and a fresh timestamp.
    const replayId = randomUUID()
    const replay = await post(app, signed(seeded.secret, 'time.unlocked', unlockBody, replayId))
    expect(replay.statusCode).toBe(200)
    expect(replay.json()).toEqual({ received: true, deduplicated: true })
    expect((await findEntry(t.db, entry.id)).status).toBe('approved')
    expect(await findDelivery(t.db, replayId)).toMatchObject({
      status: 'processed',
      error: `replayed body of delivery ${original.headers['x-align-delivery-id']}`,
    })
    expect(await metricValue(ingest.metrics, 'align_webhook_deliveries_total', { event: 'time.unlocked', outcome: 'replayed' })).toBe(1)
  })

  it('a captured body re-sent under another (unsigned) event name is a replay, not a new event', async () => {
    const seeded = await seedConnection(t.db, ingest.secretBox)
    const { entry, alignId } = await seedLinkedEntry(t.db, seeded, 'submitted')
    const body = { organizationId: seeded.orgId, data: { id: alignId, status: 'approved' } }
    expect((await post(app, signed(seeded.secret, 'time.approved', body))).json()).toEqual({ received: true })
    const forged = await post(app, signed(seeded.secret, 'time.unlocked', body))
    expect(forged.json()).toEqual({ received: true, deduplicated: true })
    expect((await findEntry(t.db, entry.id)).status).toBe('approved')
  })

  it('a body processed longer ago than the replay window is processed normally', async () => {
    const seeded = await seedConnection(t.db, ingest.secretBox)
    const { entry, alignId } = await seedLinkedEntry(t.db, seeded, 'submitted')
    const body = { organizationId: seeded.orgId, data: { id: alignId } }
    const first = signed(seeded.secret, 'time.approved', body)
    await post(app, first)
    await t.db.updateTable('align_webhook_deliveries').set({ received_at: new Date(Date.now() - 25 * 3600_000) }).where('delivery_id', '=', first.headers['x-align-delivery-id']!).execute()
    await t.db.updateTable('time_entries').set({ status: 'submitted' }).where('id', '=', entry.id).execute()
    const later = await post(app, signed(seeded.secret, 'time.approved', body))
    expect(later.json()).toEqual({ received: true })
    expect((await findEntry(t.db, entry.id)).status).toBe('approved')
  })

  it('the same body for another connection is not a replay', async () => {
    const orgId = `org-${randomUUID()}`
    const a = await seedConnection(t.db, ingest.secretBox, { alignOrgId: orgId })
    const b = await seedConnection(t.db, ingest.secretBox, { alignOrgId: orgId, status: 'error' })
    const entryA = await seedLinkedEntry(t.db, a, 'submitted')
    const entryB = await seedLinkedEntry(t.db, b, 'submitted')
    // Same Align id is impossible across one tenant, but these are two tenants; the body is identical.
    await t.db.updateTable('align_entity_links').set({ align_entity_id: 'ate-shared' }).where('external_id', 'in', [entryA.entry.id, entryB.entry.id]).execute()
    const body = { organizationId: orgId, data: { id: 'ate-shared' } }
    expect((await post(app, signed(a.secret, 'time.approved', body))).json()).toEqual({ received: true })
    expect((await post(app, signed(b.secret, 'time.approved', body))).json()).toEqual({ received: true })
    expect((await findEntry(t.db, entryA.entry.id)).status).toBe('approved')
    expect((await findEntry(t.db, entryB.entry.id)).status).toBe('approved')
  })
})

describe('concurrency', () => {
  it('20 concurrent copies of one delivery over a listening server: the handler runs once', async () => {
    const served = await startIngest(t.db)
    try {
      await served.app.listen({ host: '127.0.0.1', port: 0 })
      const address = served.app.server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      const seeded = await seedConnection(t.db, served.secretBox)
      const { entry, alignId } = await seedLinkedEntry(t.db, seeded, 'submitted')
      const request = signed(seeded.secret, 'time.approved', { organizationId: seeded.orgId, data: { id: alignId } })
      const responses = await Promise.all(Array.from({ length: 20 }, async () => {
        const res = await fetch(`http://127.0.0.1:${port}/api/webhooks/align`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...request.headers },
          body: request.rawBody,
        })
        return { status: res.status, body: (await res.json()) as Record<string, unknown> }
      }))
      expect(responses.every((r) => r.status === 200)).toBe(true)
      expect(responses.filter((r) => !r.body.deduplicated)).toHaveLength(1)
      expect(responses.filter((r) => r.body.deduplicated === true)).toHaveLength(19)
      expect(await metricValue(served.metrics, 'align_webhook_deliveries_total', { event: 'time.approved', outcome: 'processed' })).toBe(1)
      expect(await metricValue(served.metrics, 'align_webhook_deliveries_total', { event: 'time.approved', outcome: 'deduplicated' })).toBe(19)
      expect(served.logs.lines.filter((l) => l.includes('"align webhook processed"'))).toHaveLength(1)
      expect((await findEntry(t.db, entry.id)).status).toBe('approved')
      const rows = await t.db.selectFrom('align_webhook_deliveries').selectAll().where('delivery_id', '=', request.headers['x-align-delivery-id']!).execute()
      expect(rows).toHaveLength(1)
      expect(rows[0]!.status).toBe('processed')
    } finally {
      await served.app.close()
    }
  })
})
