// Group commit of time status events (status-event-batcher.ts, applyStatusEvents): deliveries that arrive
// while a statement runs share the next one; deliveries that must see each other's commits never share one;
// a shared statement that fails writes nothing and hands every delivery back. Then a storm of duplicate and
// reordered deliveries through HTTP ends with every entry in its final state and every delivery recorded once.
import { createHash, randomUUID } from 'node:crypto'
import type { TimeEntryStatus } from '@illumera/db-schema'
import { useTestDatabase } from '@illumera/test-harness'
import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import type { StatusEventStatement } from '../../src/deliveries/deliveries.queries.js'
import { StatusEventBatcher } from '../../src/deliveries/status-event-batcher.js'
import { statusesWhereEventApplies } from '../../src/events/time-entry-events.js'
import { findDelivery, findEntry, metricValue, post, seedConnection, type SeededConnection, seedLinkedEntry, signed, startIngest } from '../helpers/ingest.js'

const t = useTestDatabase()

async function rowVersion(seeded: SeededConnection): Promise<string> {
  const row = await t.db.selectFrom('align_connections').select(sql<string>`updated_at::text`.as('v')).where('id', '=', seeded.connection.id).executeTakeFirstOrThrow()
  return row.v
}

interface EventOptions {
  target?: TimeEntryStatus
  alignEntryId?: string | null
  illumeraEntryId?: string | null
  deliveryId?: string
  body?: string
  rowVersion?: string
}

/** A statement as the pipeline builds it for a verified time status delivery. */
async function statusEvent(seeded: SeededConnection, o: EventOptions): Promise<StatusEventStatement> {
  const target = o.target ?? 'approved'
  const body = o.body ?? JSON.stringify({ organizationId: seeded.orgId, data: { id: o.alignEntryId, status: target, nonce: randomUUID() } })
  const now = new Date()
  return {
    record: {
      deliveryId: o.deliveryId ?? randomUUID(),
      eventName: `time.${target}`,
      connection: seeded.connection,
      payloadJson: body,
      bodySha256: createHash('sha256').update(body).digest('hex'),
    },
    connectionRowVersion: o.rowVersion ?? await rowVersion(seeded),
    since: new Date(now.getTime() - 60_000),
    now,
    alignEntryId: o.alignEntryId ?? null,
    illumeraEntryId: o.illumeraEntryId ?? null,
    target,
    appliesFrom: statusesWhereEventApplies(target),
  }
}

/** A batcher that never starts a second statement beside a running one, and the sizes of its statements. */
function batcher(options: { maxSize?: number } = {}) {
  const sizes: number[] = []
  return { sizes, batcher: new StatusEventBatcher(t.db, { maxInFlight: 1, maxWaitMs: 60_000, ...options, onStatement: (n) => sizes.push(n) }) }
}

describe('StatusEventBatcher', () => {
  it('the first delivery goes at once; those arriving while it runs share the next statement; each is applied once', async () => {
    const seeded = await seedConnection(t.db, (await startIngest(t.db)).secretBox)
    const entries = await Promise.all(Array.from({ length: 6 }, () => seedLinkedEntry(t.db, seeded, 'submitted')))
    const statements = await Promise.all(entries.map((e) => statusEvent(seeded, { alignEntryId: e.alignId })))
    const { sizes, batcher: b } = batcher()
    const outcomes = await Promise.all(statements.map((s) => b.apply(s)))
    expect(sizes).toEqual([1, 5])
    expect(outcomes.map((o) => [o?.connectionCurrent, o?.replayed, o?.inserted, o?.applied, o?.entry?.status])).toEqual(
      entries.map(() => [true, false, true, true, 'submitted']))
    for (const [i, e] of entries.entries()) {
      expect(await findEntry(t.db, e.entry.id)).toMatchObject({ status: 'approved', sync_status: 'synced' })
      expect(await findDelivery(t.db, statements[i]!.record.deliveryId)).toMatchObject({ status: 'processed', event_name: 'time.approved' })
    }
  })

  it('copies, replayed bodies and events of one entry never share a statement', async () => {
    const seeded = await seedConnection(t.db, (await startIngest(t.db)).secretBox)
    const [first, x, y] = await Promise.all([0, 1, 2].map(() => seedLinkedEntry(t.db, seeded, 'submitted')))
    const approveX = await statusEvent(seeded, { alignEntryId: x!.alignId })
    const lockX = await statusEvent(seeded, { alignEntryId: x!.alignId, target: 'locked' })
    const approveY = await statusEvent(seeded, { alignEntryId: y!.alignId })
    const copyOfY = { ...approveY, record: { ...approveY.record } }
    const replayOfY = { ...approveY, record: { ...approveY.record, deliveryId: randomUUID() } }
    const opener = await statusEvent(seeded, { alignEntryId: first!.alignId })
    const { sizes, batcher: b } = batcher()
    const [, ax, lx, ay, cy, ry] = await Promise.all([opener, approveX, lockX, approveY, copyOfY, replayOfY].map((st) => b.apply(st)))
    expect(sizes).toEqual([1, 2, 2, 1])
    expect([ax?.applied, lx?.applied, ay?.applied]).toEqual([true, true, true])
    expect(lx?.entry?.status).toBe('approved')
    // The copy saw the original's row: nothing inserted, so the pipeline deduplicates it in its transaction.
    expect(cy).toMatchObject({ inserted: false, applied: false })
    // The replay saw the processed body: the pipeline records it as replayed.
    expect(ry).toMatchObject({ replayed: true, inserted: false, applied: false })
    expect((await findEntry(t.db, x!.entry.id)).status).toBe('locked')
    expect((await findEntry(t.db, y!.entry.id)).status).toBe('approved')
    expect(await t.db.selectFrom('align_webhook_deliveries').select('delivery_id').where('delivery_id', '=', replayOfY.record.deliveryId).execute()).toEqual([])
  })

  it('two deliveries of one statement reaching one entry by different ids: neither is written there', async () => {
    const seeded = await seedConnection(t.db, (await startIngest(t.db)).secretBox)
    const { entry, alignId } = await seedLinkedEntry(t.db, seeded, 'submitted')
    const other = await seedLinkedEntry(t.db, seeded, 'submitted')
    const byLink = await statusEvent(seeded, { alignEntryId: alignId })
    const byRef = await statusEvent(seeded, { alignEntryId: `ate-${randomUUID()}`, illumeraEntryId: entry.id, target: 'locked' })
    const first = await statusEvent(seeded, { alignEntryId: other.alignId })
    const { sizes, batcher: b } = batcher()
    const [, link, ref] = await Promise.all([b.apply(first), b.apply(byLink), b.apply(byRef)])
    expect(sizes).toEqual([1, 2])
    for (const outcome of [link, ref]) expect(outcome).toMatchObject({ connectionCurrent: true, inserted: false, applied: false, entry: { id: entry.id, status: 'submitted' } })
    expect((await findEntry(t.db, entry.id)).status).toBe('submitted')
    expect(await findDelivery(t.db, byLink.record.deliveryId)).toBeUndefined()
  })

  it('a stale connection row version fails only its own delivery', async () => {
    const seeded = await seedConnection(t.db, (await startIngest(t.db)).secretBox)
    const [a, b2, c] = await Promise.all([0, 1, 2].map(() => seedLinkedEntry(t.db, seeded, 'submitted')))
    const statements = [
      await statusEvent(seeded, { alignEntryId: a!.alignId }),
      await statusEvent(seeded, { alignEntryId: b2!.alignId, rowVersion: '2001-01-01 00:00:00+00' }),
      await statusEvent(seeded, { alignEntryId: c!.alignId }),
    ]
    const { sizes, batcher: b } = batcher()
    const [, stale, fresh] = await Promise.all(statements.map((st) => b.apply(st)))
    expect(sizes).toEqual([1, 2])
    expect(stale).toMatchObject({ connectionCurrent: false, inserted: false, applied: false, entry: null })
    expect(fresh).toMatchObject({ connectionCurrent: true, inserted: true, applied: true })
    expect((await findEntry(t.db, b2!.entry.id)).status).toBe('submitted')
  })

  it('a shared statement that fails writes nothing and hands each delivery back; alone, the error is thrown', async () => {
    const seeded = await seedConnection(t.db, (await startIngest(t.db)).secretBox)
    const [a, good, bad] = await Promise.all([0, 1, 2].map(() => seedLinkedEntry(t.db, seeded, 'submitted')))
    // Valid JSON that PostgreSQL's jsonb refuses (a NUL character).
    const nul = JSON.stringify({ organizationId: seeded.orgId, data: { id: bad!.alignId, note: '\u0000' } })
    const statements = [
      await statusEvent(seeded, { alignEntryId: a!.alignId }),
      await statusEvent(seeded, { alignEntryId: good!.alignId }),
      await statusEvent(seeded, { alignEntryId: bad!.alignId, body: nul }),
    ]
    const { sizes, batcher: b } = batcher()
    const [, g, n] = await Promise.all(statements.map((st) => b.apply(st)))
    expect(sizes).toEqual([1, 2])
    expect([g, n]).toEqual([undefined, undefined])
    expect((await findEntry(t.db, good!.entry.id)).status).toBe('submitted')
    await expect(b.apply(await statusEvent(seeded, { alignEntryId: bad!.alignId, body: nul }))).rejects.toThrow(/unsupported Unicode escape sequence|\\u0000/)
  })

  it('a delivery waiting behind a running statement starts its own after maxWaitMs', async () => {
    const seeded = await seedConnection(t.db, (await startIngest(t.db)).secretBox)
    const [locked, other] = await Promise.all([0, 1].map(() => seedLinkedEntry(t.db, seeded, 'submitted')))
    const sizes: number[] = []
    const b = new StatusEventBatcher(t.db, { maxInFlight: 2, maxWaitMs: 50, onStatement: (n) => sizes.push(n) })
    // Another transaction holds the first entry: its statement waits on the row lock.
    const holder = await t.db.connection().execute(async (conn) => {
      await sql`begin`.execute(conn)
      await sql`select 1 from time_entries where id = ${locked!.entry.id} for update`.execute(conn)
      const [stuckEvent, freeEvent] = [await statusEvent(seeded, { alignEntryId: locked!.alignId }), await statusEvent(seeded, { alignEntryId: other!.alignId })]
      const stuck = b.apply(stuckEvent)
      const started = performance.now()
      const free = await b.apply(freeEvent)
      const waitedMs = performance.now() - started
      await sql`commit`.execute(conn)
      return { stuck: await stuck, free, waitedMs }
    })
    expect(sizes).toEqual([1, 1])
    expect(holder.free).toMatchObject({ inserted: true, applied: true })
    expect(holder.waitedMs).toBeGreaterThanOrEqual(40)
    expect(holder.stuck).toMatchObject({ inserted: true, applied: true })
  })
})

describe('a storm through HTTP', () => {
  it('duplicates and out-of-order events at concurrency 20: every entry ends in its final state, every delivery recorded once', async () => {
    const { app, secretBox, metrics } = await startIngest(t.db)
    try {
      const seeded = await seedConnection(t.db, secretBox)
      const sequences: TimeEntryStatus[][] = [['approved'], ['approved', 'locked'], ['approved', 'locked', 'invoiced'], ['rejected'], ['approved', 'invoiced']]
      const entries = await Promise.all(Array.from({ length: 30 }, () => seedLinkedEntry(t.db, seeded, 'submitted')))
      const perEntry = entries.map((e, i) => sequences[i % sequences.length]!.map((status, v) =>
        signed(seeded.secret, `time.${status}`, { organizationId: seeded.orgId, data: { id: e.alignId, status, version: v } })))
      // Round robin over the entries; every third entry's events in reverse order; every fourth request sent twice.
      const ordered = []
      const sendOrder = perEntry.map((s, i) => (i % 3 === 0 ? [...s].reverse() : s))
      for (let step = 0; step < 3; step++) for (const s of sendOrder) if (s[step]) ordered.push(s[step]!)
      const sent = ordered.flatMap((r, i) => (i % 4 === 0 ? [r, r] : [r]))
      let cursor = 0
      const statuses: number[] = []
      await Promise.all(Array.from({ length: 20 }, async () => {
        while (cursor < sent.length) statuses.push((await post(app, sent[cursor++]!)).statusCode)
      }))
      expect(statuses.filter((s) => s !== 200)).toEqual([])
      for (const [i, e] of entries.entries()) expect((await findEntry(t.db, e.entry.id)).status).toBe(sequences[i % sequences.length]!.at(-1))
      const ids = ordered.map((r) => r.headers['x-align-delivery-id']!)
      const rows = await t.db.selectFrom('align_webhook_deliveries').select(['delivery_id', 'status']).where('delivery_id', 'in', ids).execute()
      expect(rows).toHaveLength(ids.length)
      expect(rows.every((r) => r.status === 'processed')).toBe(true)
      // Statements carried several deliveries at once.
      const statements = await metrics.getSingleMetric('align_webhook_status_statement_deliveries')!.get()
      const count = statements.values.find((v) => (v as { metricName?: string }).metricName?.endsWith('_count'))!.value
      const sum = statements.values.find((v) => (v as { metricName?: string }).metricName?.endsWith('_sum'))!.value
      expect(count).toBeLessThan(sum)
      expect(await metricValue(metrics, 'align_webhook_deliveries_total', { event: 'time.approved', outcome: 'processed' })).toBe(
        perEntry.flat().filter((r) => r.headers['x-align-event'] === 'time.approved').length)
    } finally {
      await app.close()
    }
  })
})
