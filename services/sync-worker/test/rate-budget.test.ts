// The worker on the paced, shared Align budget (@illumera/align-rate-budget): a backlog's units wait in place
// for their own reserved moments (no pause, no release, no attempt for a wait of a few hundred ms); units for
// which nothing is free within the horizon go back without an attempt and the connection pauses only until
// the rows claimed then can reserve the next free moment.
import { type AlignSandbox, startAlignSandbox } from '@illumera/align-sandbox'
import { paceIntervalMs, takeAlignBudget } from '@illumera/align-rate-budget'
import { useTestDatabase } from '@illumera/test-harness'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, enqueue, id, makeWorker, projectPayload, type TestConnection } from './helpers/setup.js'

const t = useTestDatabase()
let sandbox: AlignSandbox

beforeAll(async () => { sandbox = await startAlignSandbox({ port: 0, rateLimitPerMinute: 600 }) })
afterAll(async () => { await sandbox.close() })

async function seed(c: TestConnection, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, () => id('project'))
  for (const localId of ids) await enqueue(t.db, c, 'project', localId, projectPayload(localId))
  return ids
}

async function statusOf(c: TestConnection) {
  const rows = await t.db.selectFrom('align_sync_outbox').select(['status', 'attempts', 'next_retry_at']).where('connection_id', '=', c.connectionId).execute()
  const paused = await t.db.selectFrom('align_connections').select('paused_until').where('id', '=', c.connectionId).executeTakeFirstOrThrow()
  return { rows, pausedUntil: paused.paused_until }
}

describe('paced budget in the worker', () => {
  const interval = paceIntervalMs({ limitPerMinute: 600 })

  it('a burst goes at once; the rest of the claim waits in place for one reserved moment each: no pause, no release', async () => {
    const c = await connect(t.db, sandbox)
    const { worker } = makeWorker(t.db, sandbox, { rateLimitPerMinute: 600, rateBurst: 3, concurrency: 8, perConnectionClaim: 8 })
    await seed(c, 8)
    const started = performance.now()
    const summary = await worker.runOnce()
    const elapsed = performance.now() - started
    expect(summary).toMatchObject({ claimed: 8, done: 8, retried: 0 })
    // 3 at once, then 5 one interval apart: the last about 5 intervals after the first.
    expect(elapsed).toBeGreaterThanOrEqual(5 * interval - 5)
    const { rows, pausedUntil } = await statusOf(c)
    expect(rows.every((r) => r.status === 'done' && r.attempts === 0)).toBe(true)
    expect(pausedUntil).toBeNull()
    const grants = (await t.db.selectFrom('align_rate_budgets').select('grants').where('connection_id', '=', c.connectionId).executeTakeFirstOrThrow()).grants.map(Number).sort((a, b) => a - b)
    expect(grants).toHaveLength(8)
    for (let i = 3; i < 8; i++) expect(grants[i]! - grants[i - 1]!).toBeGreaterThanOrEqual(Math.floor(interval))
  })

  it('nothing free within the horizon: those rows go back without an attempt, and come through on the next cycle', async () => {
    const c = await connect(t.db, sandbox)
    // 10 slots, 9 for one connection: a horizon of max(1 s, 9 intervals) = 1 s.
    const { worker } = makeWorker(t.db, sandbox, { rateLimitPerMinute: 600, rateBurst: 1, concurrency: 10, perConnectionClaim: 10 })
    await seed(c, 10)
    // Another process of the same key already holds the next 5 moments (now and 4 reserved).
    for (let i = 0; i < 5; i++) expect(await takeAlignBudget(t.db, c.connectionId, new Date(), { limitPerMinute: 600, burst: 1, reserveWithinMs: 1000 })).toMatchObject({ granted: true })
    const first = await worker.runOnce()
    // Moments 5 … 9 (or 10, if the worker started a little later) lie within its horizon.
    expect(first.claimed).toBe(10)
    expect(first.done).toBeGreaterThanOrEqual(5)
    expect(first.done).toBeLessThanOrEqual(6)
    expect(first.retried).toBe(10 - first.done)
    const after = await statusOf(c)
    const back = after.rows.filter((r) => r.status === 'pending')
    expect(back).toHaveLength(first.retried)
    expect(back.every((r) => r.attempts === 0)).toBe(true)
    // Paused only until a horizon before the next free moment (not for the whole wait): a claim then reserves it.
    const nextFree = Math.max(...(await t.db.selectFrom('align_rate_budgets').select('grants').where('connection_id', '=', c.connectionId).executeTakeFirstOrThrow()).grants.map(Number)) + interval
    expect(after.pausedUntil!.getTime()).toBeGreaterThan(Date.now() - 1000)
    expect(after.pausedUntil!.getTime()).toBeLessThanOrEqual(Math.ceil(nextFree) - 1000 + 1)
    for (const r of back) expect(r.next_retry_at.getTime()).toBe(after.pausedUntil!.getTime())
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, after.pausedUntil!.getTime() - Date.now() + 5)))
    expect(await worker.runOnce()).toMatchObject({ claimed: first.retried, done: first.retried, retried: 0 })
    expect((await sandbox.control.state(c.organizationId)).projects).toHaveLength(10)
  })
})
