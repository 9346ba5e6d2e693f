// Every event of the catalog, and out-of-order sequences: a late event never moves an entry backwards.
import { randomUUID } from 'node:crypto'
import type { TimeEntryStatus } from '@illumera/db-schema'
import { useTestDatabase } from '@illumera/test-harness'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { statusEventApplies } from '../../src/events/time-entry-events.js'
import { findDelivery, findEntry, type IngestApp, post, seedConnection, type SeededConnection, seedLinkedEntry, signed, snapshot, startIngest } from '../helpers/ingest.js'

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

const STATUS_OF_EVENT: Record<string, string> = {
  'time.approved': 'approved', 'time.rejected': 'rejected', 'time.locked': 'locked', 'time.invoiced': 'invoiced', 'time.unlocked': 'draft',
}

/** Sends one event as Align would (data carries the entity, with the status the event gives it). */
async function send(seeded: SeededConnection, event: string, data: Record<string, unknown>) {
  const status = STATUS_OF_EVENT[event]
  const request = signed(seeded.secret, event, { organizationId: seeded.orgId, data: { ...(status ? { status } : {}), ...data, updatedAt: new Date().toISOString(), nonce: randomUUID() } })
  const res = await post(app, request)
  expect(res.statusCode).toBe(200)
  return { res, deliveryId: request.headers['x-align-delivery-id']! }
}

async function entryIn(status: TimeEntryStatus) {
  const seeded = await seedConnection(t.db, ingest.secretBox)
  return { seeded, ...(await seedLinkedEntry(t.db, seeded, status)) }
}

describe('time status events', () => {
  const applies: Array<[string, TimeEntryStatus, TimeEntryStatus]> = [
    ['time.approved', 'submitted', 'approved'],
    ['time.rejected', 'submitted', 'rejected'],
    ['time.locked', 'approved', 'locked'],
    ['time.invoiced', 'locked', 'invoiced'],
  ]
  for (const [event, from, to] of applies) {
    it(`${event}: ${from} → ${to}, synced, sync_error cleared, delivery processed`, async () => {
      const { seeded, entry, alignId } = await entryIn(from)
      await t.db.updateTable('time_entries').set({ sync_status: 'error', sync_error: 'earlier failure' }).where('id', '=', entry.id).execute()
      const { deliveryId } = await send(seeded, event, { id: alignId })
      expect(await findEntry(t.db, entry.id)).toMatchObject({ status: to, sync_status: 'synced', sync_error: null })
      expect(await findDelivery(t.db, deliveryId)).toMatchObject({ status: 'processed', error: null })
    })
  }

  it('time.rejected stores data.reason as rejection_reason', async () => {
    const { seeded, entry, alignId } = await entryIn('submitted')
    await send(seeded, 'time.rejected', { id: alignId, reason: 'Wrong project code' })
    expect(await findEntry(t.db, entry.id)).toMatchObject({ status: 'rejected', rejection_reason: 'Wrong project code' })
  })

  it('time.rejected falls back to data.rejectionReason', async () => {
    const { seeded, entry, alignId } = await entryIn('submitted')
    await send(seeded, 'time.rejected', { id: alignId, rejectionReason: 'Duplicate' })
    expect((await findEntry(t.db, entry.id)).rejection_reason).toBe('Duplicate')
  })

  for (const from of ['approved', 'locked'] as const) {
    it(`time.unlocked: ${from} → draft with sync_status pending`, async () => {
      const { seeded, entry, alignId } = await entryIn(from)
      await send(seeded, 'time.unlocked', { id: alignId })
      expect(await findEntry(t.db, entry.id)).toMatchObject({ status: 'draft', sync_status: 'pending' })
    })
  }

  for (const from of ['draft', 'submitted', 'rejected', 'invoiced'] as const) {
    it(`time.unlocked leaves a ${from} entry alone (no error note)`, async () => {
      const { seeded, entry, alignId } = await entryIn(from)
      const { deliveryId } = await send(seeded, 'time.unlocked', { id: alignId })
      expect((await findEntry(t.db, entry.id)).status).toBe(from)
      expect(await findDelivery(t.db, deliveryId)).toMatchObject({ status: 'processed', error: null })
    })
  }

  for (const from of ['draft', 'submitted'] as const) {
    it(`time.deleted soft-deletes a ${from} entry`, async () => {
      const { seeded, entry, alignId } = await entryIn(from)
      await send(seeded, 'time.deleted', { id: alignId })
      expect((await findEntry(t.db, entry.id)).deleted_at).toBeInstanceOf(Date)
    })
  }

  for (const from of ['approved', 'rejected', 'locked', 'invoiced'] as const) {
    it(`time.deleted keeps a ${from} entry`, async () => {
      const { seeded, entry, alignId } = await entryIn(from)
      await send(seeded, 'time.deleted', { id: alignId })
      expect(await findEntry(t.db, entry.id)).toMatchObject({ status: from, deleted_at: null })
    })
  }

  it('a status event for a deleted entry changes nothing', async () => {
    const { seeded, entry, alignId } = await entryIn('submitted')
    await send(seeded, 'time.deleted', { id: alignId })
    await send(seeded, 'time.approved', { id: alignId })
    expect((await findEntry(t.db, entry.id)).status).toBe('submitted')
  })

  it('an Align entry linked to nothing is processed with a note, 200', async () => {
    const seeded = await seedConnection(t.db, ingest.secretBox)
    const before = await snapshot(t.db)
    const { deliveryId } = await send(seeded, 'time.approved', { id: 'ate-unknown' })
    expect(await findDelivery(t.db, deliveryId)).toMatchObject({ status: 'processed', error: 'Align time entry ate-unknown is not linked to an Illumera time entry' })
    expect((await snapshot(t.db)).entries).toEqual(before.entries)
  })

  it('before the worker wrote the link, our externalRef finds the entry', async () => {
    const { seeded, entry } = await entryIn('submitted')
    await send(seeded, 'time.approved', { id: 'ate-not-linked-yet', externalRef: { provider: 'illumera', externalType: 'time_entry', externalId: entry.id } })
    expect((await findEntry(t.db, entry.id)).status).toBe('approved')
  })

  it("an externalRef never reaches another company's entry", async () => {
    const { entry } = await entryIn('submitted')
    const other = await seedConnection(t.db, ingest.secretBox)
    const { deliveryId } = await send(other, 'time.approved', { id: 'ate-x', externalRef: { provider: 'illumera', externalType: 'time_entry', externalId: entry.id } })
    expect((await findEntry(t.db, entry.id)).status).toBe('submitted')
    expect((await findDelivery(t.db, deliveryId))?.error).toContain('not linked')
  })

  it("a link of another company's connection is not used", async () => {
    const { alignId, entry } = await entryIn('submitted')
    const other = await seedConnection(t.db, ingest.secretBox)
    await send(other, 'time.approved', { id: alignId })
    expect((await findEntry(t.db, entry.id)).status).toBe('submitted')
  })
})

describe('out-of-order deliveries never move an entry backwards', () => {
  it('time.approved after time.invoiced is recorded and ignored (no error note)', async () => {
    const { seeded, entry, alignId } = await entryIn('locked')
    await send(seeded, 'time.invoiced', { id: alignId })
    const { deliveryId } = await send(seeded, 'time.approved', { id: alignId })
    expect((await findEntry(t.db, entry.id)).status).toBe('invoiced')
    expect(await findDelivery(t.db, deliveryId)).toMatchObject({ status: 'processed', error: null })
    expect(ingest.logs.text()).toContain(`time entry ${entry.id} is invoiced: time.approved would not move it forward`)
  })

  const permutations = (items: string[]): string[][] =>
    items.length <= 1 ? [items] : items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]))

  for (const order of permutations(['time.approved', 'time.locked', 'time.invoiced'])) {
    it(`submitted, then ${order.join(' → ')}: ends invoiced`, async () => {
      const { seeded, entry, alignId } = await entryIn('submitted')
      for (const event of order) await send(seeded, event, { id: alignId })
      expect((await findEntry(t.db, entry.id)).status).toBe('invoiced')
    })
  }

  it('a late time.rejected after time.approved is ignored', async () => {
    const { seeded, entry, alignId } = await entryIn('submitted')
    await send(seeded, 'time.approved', { id: alignId })
    await send(seeded, 'time.rejected', { id: alignId, reason: 'late' })
    expect(await findEntry(t.db, entry.id)).toMatchObject({ status: 'approved', rejection_reason: null })
  })

  it('a stale time.approved after time.unlocked leaves the entry in draft', async () => {
    const { seeded, entry, alignId } = await entryIn('approved')
    await send(seeded, 'time.unlocked', { id: alignId })
    await send(seeded, 'time.approved', { id: alignId })
    await send(seeded, 'time.locked', { id: alignId })
    expect(await findEntry(t.db, entry.id)).toMatchObject({ status: 'draft', sync_status: 'pending' })
  })

  it('a rejected entry is not approved by a late event (it goes back to draft through an edit first)', async () => {
    const { seeded, entry, alignId } = await entryIn('rejected')
    await send(seeded, 'time.approved', { id: alignId })
    expect((await findEntry(t.db, entry.id)).status).toBe('rejected')
  })

  it('statusEventApplies: forward moves and jumps only', () => {
    const cases: Array<[TimeEntryStatus, TimeEntryStatus, boolean]> = [
      ['submitted', 'approved', true], ['submitted', 'rejected', true], ['submitted', 'locked', true], ['submitted', 'invoiced', true],
      ['approved', 'locked', true], ['approved', 'invoiced', true], ['locked', 'invoiced', true],
      ['draft', 'approved', false], ['draft', 'locked', false], ['rejected', 'approved', false], ['approved', 'rejected', false],
      ['locked', 'approved', false], ['invoiced', 'approved', false], ['invoiced', 'locked', false], ['approved', 'approved', false],
    ]
    for (const [from, to, expected] of cases) expect([from, to, statusEventApplies(from, to)]).toEqual([from, to, expected])
  })
})

describe('events without a handler', () => {
  const noOps = [
    'time.submitted', 'time.updated', 'project_member.removed', 'user.invited', 'user.linked', 'user.updated', 'wiki_page.updated',
    'integration_link.created', 'integration_link.updated', 'invoice.paid', 'invoice.finalized', 'something.new',
  ]
  for (const event of noOps) {
    it(`${event} is recorded as processed and changes nothing`, async () => {
      const { seeded, alignId } = await entryIn('submitted')
      const before = await snapshot(t.db)
      const { res, deliveryId } = await send(seeded, event, { id: alignId, status: 'approved' })
      expect(res.json()).toEqual({ received: true })
      const after = await snapshot(t.db)
      expect(after.entries).toEqual(before.entries)
      expect(after.links).toEqual(before.links)
      expect(await findDelivery(t.db, deliveryId)).toMatchObject({ status: 'processed', event_name: event, error: null })
    })
  }
})
