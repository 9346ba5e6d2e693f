// sync-worker fairness: tenant B's single rows while tenant A has a 20k backlog, versus B alone. Rate
// limiting off (sandbox and worker), so A's backlog runs at full speed and competes for every slot.
// Latency = link written − outbox row written (database clock). Target: B's p99 with the backlog ≤ 2× its
// p99 without. Medians of repeats.
import { startAlignSandbox } from '@illumera/align-sandbox'
import { createDb, insertOutboxRow } from '@illumera/db-schema'
import { type Kysely, sql } from 'kysely'
import type { Database } from '@illumera/db-schema'
import { formatNumber, median, percentile, type Bench, type BenchResult } from '../bench.js'
import { type BenchConnection, countRows, createBenchDatabase, entryPayload, makeWorker, seedTimeEntryRows, setupConnection, sleep, waitUntil } from './sync-worker-support.js'

const BACKLOG = Number(process.env.BENCH_SYNC_BACKLOG ?? 20_000)
const SAMPLES = 40
const GAP_MS = 100
const REPEATS = 3
const TARGET_RATIO = 2

async function sampleLatencies(db: Kysely<Database>, c: BenchConnection, tag: string): Promise<number[]> {
  for (let i = 0; i < SAMPLES; i++) {
    await db.transaction().execute((trx) => insertOutboxRow(trx, {
      tenantId: c.tenantId, companyId: c.companyId, connectionId: c.connectionId, entityType: 'time_entry',
      localId: `${tag}${i}`, operation: 'upsert', payload: entryPayload(c),
    }))
    await sleep(GAP_MS)
  }
  await waitUntil(async () => {
    const r = await sql<{ n: number }>`select count(*)::int as n from align_entity_links where external_id like ${`${tag}%`}`.execute(db)
    return r.rows[0]!.n === SAMPLES
  }, 120_000, "B's rows")
  const rows = await sql<{ ms: number }>`
    select extract(epoch from (l.created_at - o.created_at)) * 1000 as ms
      from align_sync_outbox o join align_entity_links l on l.tenant_id = o.tenant_id and l.external_type = 'time_entry' and l.external_id = o.local_id
     where o.local_id like ${`${tag}%`}`.execute(db)
  return rows.rows.map((r) => Number(r.ms))
}

export const syncWorkerFairness: Bench = {
  name: 'sync-worker-fairness',
  title: "sync-worker: one tenant's single rows behind another tenant's 20k backlog",
  async run(): Promise<BenchResult> {
    const database = await createBenchDatabase('sync_fairness')
    const sandbox = await startAlignSandbox({ port: 0, rateLimitPerMinute: 0 })
    const db = createDb(database.url, { max: 6 })
    const w = makeWorker(database.url, sandbox, { concurrency: 20, perConnectionClaim: 10, rateLimitPerMinute: 0, pollIntervalMs: 2000 })
    const trials: Array<{ alone: number; behind: number; backlogLeft: number }> = []
    try {
      const b = await setupConnection(db, sandbox, 0)
      w.worker.start()
      await waitUntil(async () => w.worker.listening, 10_000, 'LISTEN')
      await sampleLatencies(db, b, 'warm-') // warm-up
      for (let repeat = 0; repeat < REPEATS; repeat++) {
        const alone = await sampleLatencies(db, b, `alone${repeat}-`)
        const a = await setupConnection(db, sandbox, repeat + 1)
        await seedTimeEntryRows(db, a, BACKLOG)
        await sql`select pg_notify('align_sync_outbox', ${a.connectionId})`.execute(db)
        await waitUntil(async () => (await countRows(db, a.connectionId, 'done')) > 200, 60_000, "A's drain to start")
        const behind = await sampleLatencies(db, b, `behind${repeat}-`)
        const backlogLeft = await countRows(db, a.connectionId, 'pending')
        trials.push({ alone: percentile(alone, 99), behind: percentile(behind, 99), backlogLeft })
        await waitUntil(async () => (await countRows(db, a.connectionId, 'pending')) === 0 && (await countRows(db, a.connectionId, 'processing')) === 0, 600_000, "A's backlog to drain")
      }
    } finally {
      await w.close()
      await db.destroy()
      await sandbox.close()
      await database.drop()
    }
    const alone = median(trials.map((t) => t.alone))
    const behind = median(trials.map((t) => t.behind))
    const ratio = behind / alone
    const markdown = [
      `Tenant B writes ${SAMPLES} single time_entry rows ${GAP_MS} ms apart (each in its own api-style transaction); its p99 latency`,
      `(link written − row written) is measured alone, then while tenant A drains a ${formatNumber(BACKLOG, 0)}-row backlog at full speed`,
      '(rate limiting off in the sandbox and the worker; one worker, concurrency 20, 10 rows per connection per claim).',
      '`backlog left` is A\'s pending rows when B\'s last sample was written, proving the backlog was there throughout.',
      '',
      '| trial | B p99 alone (ms) | B p99 behind backlog (ms) | backlog left |',
      '|---|---|---|---|',
      ...trials.map((t, i) => `| ${i + 1} | ${formatNumber(t.alone, 1)} | ${formatNumber(t.behind, 1)} | ${t.backlogLeft} |`),
      '',
      `Median p99 alone ${formatNumber(alone, 1)} ms, behind the backlog ${formatNumber(behind, 1)} ms: **${formatNumber(ratio, 2)}×** (target ≤ ${TARGET_RATIO}×).`,
    ].join('\n')
    return { markdown, figures: { p99AloneMs: alone, p99BehindMs: behind, ratio }, targetsMet: ratio <= TARGET_RATIO && trials.every((t) => t.backlogLeft > 0) }
  },
}
