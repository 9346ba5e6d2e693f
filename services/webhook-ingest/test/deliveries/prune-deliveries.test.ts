import { randomUUID } from 'node:crypto'
import { useTestDatabase } from '@illumera/test-harness'
import { createLogger } from '@illumera/service-kit'
import { describe, expect, it } from 'vitest'
import { pruneDeliveries } from '../../src/deliveries/deliveries.queries.js'
import { startDeliveryPruning } from '../../src/deliveries/prune-schedule.js'
import { captureLogs } from '../helpers/ingest.js'

const t = useTestDatabase()

async function insertDeliveries(count: number, receivedAt: Date, status: 'processed' | 'failed' = 'processed') {
  await t.db.insertInto('align_webhook_deliveries')
    .values(Array.from({ length: count }, () => ({ delivery_id: randomUUID(), event_name: 'time.approved', status, received_at: receivedAt })))
    .execute()
}

describe('pruneDeliveries', () => {
  it('deletes deliveries older than the cut-off in batches and keeps the rest', async () => {
    await t.db.deleteFrom('align_webhook_deliveries').execute()
    const now = Date.now()
    await insertDeliveries(23, new Date(now - 40 * 86_400_000))
    await insertDeliveries(2, new Date(now - 31 * 86_400_000), 'failed')
    await insertDeliveries(5, new Date(now - 29 * 86_400_000))
    await insertDeliveries(4, new Date(now))
    const deleted = await pruneDeliveries(t.db, new Date(now - 30 * 86_400_000), 10)
    expect(deleted).toBe(25)
    const left = await t.db.selectFrom('align_webhook_deliveries').select('received_at').execute()
    expect(left).toHaveLength(9)
    expect(left.every((r) => r.received_at.getTime() > now - 30 * 86_400_000)).toBe(true)
    expect(await pruneDeliveries(t.db, new Date(now - 30 * 86_400_000), 10)).toBe(0)
  })

  it('handles an exact multiple of the batch size', async () => {
    await t.db.deleteFrom('align_webhook_deliveries').execute()
    await insertDeliveries(20, new Date(Date.now() - 90 * 86_400_000))
    expect(await pruneDeliveries(t.db, new Date(), 10)).toBe(20)
  })

  it('refuses a non-positive batch size', async () => {
    await expect(pruneDeliveries(t.db, new Date(), 0)).rejects.toThrow(/batchSize/)
  })

  it('startDeliveryPruning prunes at once with the retention it is given, logs a count, and stops', async () => {
    await t.db.deleteFrom('align_webhook_deliveries').execute()
    const fixedNow = new Date('2026-11-20T00:00:00Z')
    await insertDeliveries(3, new Date('2026-10-01T00:00:00Z'))
    await insertDeliveries(2, new Date('2026-11-15T00:00:00Z'))
    const logs = captureLogs()
    const stop = startDeliveryPruning(t.db, createLogger({ destination: logs.destination }), { retentionDays: 30, intervalMs: 3_600_000, batchSize: 2, now: () => fixedNow })
    await stop()
    expect(await t.db.selectFrom('align_webhook_deliveries').select('id').execute()).toHaveLength(2)
    expect(logs.text()).toContain('"deleted":3')
  })
})
