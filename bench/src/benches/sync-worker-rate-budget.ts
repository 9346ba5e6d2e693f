// sync-worker under Align's rate limit: 3 worker replicas (each its own pool and worker, in this process)
// drain one connection's backlog against a sandbox enforcing 600/min on that key. Budget use is measured in
// Align's own terms: successful calls in each 60 s window from the first call, over two windows (the run is
// scaled to two windows, ~2 min, to stay within a few minutes). Targets: ≥ 95% of the budget used, zero 429,
// nothing lost (every row done or still pending, no failure, one Align entry per done row).
import { startAlignSandbox } from '@illumera/align-sandbox'
import { createDb } from '@illumera/db-schema'
import { sql } from 'kysely'
import { formatNumber, type Bench, type BenchResult } from '../bench.js'
import { createBenchDatabase, makeWorker, seedTimeEntryRows, setupConnection, sleep } from './sync-worker-support.js'

const LIMIT = 600
const REPLICAS = 3
const WINDOWS = 2
const ROWS = 1_400
const TARGET_USE = 0.95

export const syncWorkerRateBudget: Bench = {
  name: 'sync-worker-rate-budget',
  title: 'sync-worker: 3 replicas sharing one Align key at 600/min',
  async run(): Promise<BenchResult> {
    const database = await createBenchDatabase('sync_budget')
    const sandbox = await startAlignSandbox({ port: 0, rateLimitPerMinute: LIMIT })
    const db = createDb(database.url, { max: 4 })
    const okTimes: number[] = []
    let tooMany = 0
    const onResponse = (info: { status: number; path: string }) => {
      if (info.status === 429) tooMany++
      else if (info.status >= 200 && info.status < 300 && info.path.endsWith('/time-entries')) okTimes.push(performance.now())
    }
    const workers = Array.from({ length: REPLICAS }, () => makeWorker(database.url, sandbox, { concurrency: 10, rateLimitPerMinute: LIMIT, pollIntervalMs: 2000 }, { poolSize: 12, onResponse }))
    let statuses: Record<string, number> = {}
    let entries = 0
    try {
      const c = await setupConnection(db, sandbox, 0)
      // setupConnection used 3 calls of this key's window; let them leave it before measuring.
      await sleep(61_000)
      await seedTimeEntryRows(db, c, ROWS)
      for (const w of workers) w.worker.start()
      await sleep(WINDOWS * 60_000 + 3_000)
      for (const w of workers) await w.worker.stop()
      const rows = await sql<{ status: string; n: number }>`select status::text, count(*)::int as n from align_sync_outbox where connection_id = ${c.connectionId} group by status`.execute(db)
      statuses = Object.fromEntries(rows.rows.map((r) => [r.status, r.n]))
      const state = await sandbox.control.state(c.organizationId)
      entries = new Set(state.timeEntries.map((e) => e.externalRef?.externalId)).size
    } finally {
      for (const w of workers) await w.close()
      await db.destroy()
      await sandbox.close()
      await database.drop()
    }
    const first = Math.min(...okTimes)
    const perWindow = Array.from({ length: WINDOWS }, (_, i) => okTimes.filter((t) => t >= first + i * 60_000 && t < first + (i + 1) * 60_000).length)
    const use = perWindow.map((n) => n / LIMIT)
    const minUse = Math.min(...use)
    const done = statuses.done ?? 0
    const lost = ROWS - done - (statuses.pending ?? 0)
    const noneLost = lost === 0 && (statuses.failed ?? 0) === 0 && entries === done
    const markdown = [
      `${REPLICAS} worker replicas (concurrency 10 each, separate pools) drain ${ROWS} time_entry creates of one connection; the sandbox`,
      `enforces ${LIMIT}/min (sliding 60 s window) on the key, the workers share \`@illumera/align-rate-budget\` (grants in Postgres:`,
      'at most 591 per 60.5 s sliding window, spaced as a burst of 45 and then one per ~102 ms; each unit reserves its own moment and',
      'waits for it in place) and pause the connection cluster-wide only when nothing is free within their horizon. Budget use =',
      `successful Align calls in each 60 s window from the first call ÷ ${LIMIT}. Scaled to ${WINDOWS} windows (~2 min) to keep the bench within a few minutes.`,
      '',
      '| window | calls | budget used |',
      '|---|---|---|',
      ...perWindow.map((n, i) => `| ${i + 1} | ${n} | ${formatNumber(use[i]! * 100, 1)}% |`),
      '',
      `429 responses: **${tooMany}** (target 0). Rows: ${done} done, ${statuses.pending ?? 0} pending, ${statuses.failed ?? 0} failed, ${statuses.processing ?? 0}`,
      `processing after the stop; Align holds ${entries} distinct entries (${noneLost ? 'nothing lost, no duplicate' : '**mismatch**'}).`,
      `Lowest window: **${formatNumber(minUse * 100, 1)}%** of the budget (target ≥ ${TARGET_USE * 100}%).`,
    ].join('\n')
    return {
      markdown,
      figures: { minBudgetUse: minUse, tooMany, done, pending: statuses.pending ?? 0 },
      targetsMet: minUse >= TARGET_USE && tooMany === 0 && noneLost,
    }
  },
}
