// sync-worker fairness: tenant B's single rows while tenant A has a 20k backlog, versus B alone.
// Latency = link written − outbox row written (database clock). Target: B's p99 with the backlog ≤ 2× its p99
// without. Two cases, each with its own sandbox and worker (concurrency 20, 10 rows per connection per claim):
// - realistic, the target's case (the issue's fairness bench runs against the sandbox's default, Align's
//   600/min per key): the sandbox enforces it, the worker paces to it with the shared budget, so A's calls go
//   out as a real key's can: a burst of 45, then one per ~102 ms. B's samples start with A's drain and span
//   more than a window (the burst, the pacing, the end of A's first window). 3 trials of 120 samples a side;
// - stress, beyond the target and reported beside it: rate limiting off in the sandbox and the worker, so A's
//   backlog runs at full speed and saturates the CPU that B's rows, the worker, the sandbox and the producer share.
// The sandbox runs on a worker thread of its own in both cases and both measurements (alone and behind): Align
// is a remote service, and an in-process sandbox would put Align's half of every call on the worker's loop.
// B's writer has a thread of its own too: in production the api commits the row from another process, and a
// writer on the worker's loop would wait behind the backlog's callbacks before its commit (and NOTIFY) went out.
// p99 is taken over all samples of a case (500 each side under stress, so it is the 5th worst rather than one
// scheduler hiccup on a shared machine).
import { createDb } from '@illumera/db-schema'
import { type Kysely, sql } from 'kysely'
import type { Database } from '@illumera/db-schema'
import { formatNumber, median, percentile, type Bench, type BenchResult } from '../bench.js'
import { type BenchConnection, countRows, createBenchDatabase, entryPayload, makeWorker, seedTimeEntryRows, setupConnection, sleep, startSandboxThread, startWriterThread, waitUntil, type WriterThread } from './sync-worker-support.js'

const BACKLOG = Number(process.env.BENCH_SYNC_BACKLOG ?? 20_000)
const TARGET_RATIO = 2
const STRESS = { samples: 100, gapMs: 60, repeats: 5 }
// A's key paces to 591 calls per 60.5 s window: B samples across 66 s behind the backlog. B's own key is paced
// too (one call per ~102 ms after a burst of 45): alone, its rows come 150 ms apart so its own pacing never delays them.
const REALISTIC = { aloneSamples: 120, aloneGapMs: 150, behindSamples: 120, behindGapMs: 550, limitPerMinute: 600, repeats: 3 }

/** One measurement's rows in write order: the whole path, and when (epoch ms) the claim that took it began and its link was written. */
interface Samples { total: number[]; claimWait: number[]; claimAt: number[]; linkAt: number[] }

async function sampleLatencies(db: Kysely<Database>, writer: WriterThread, c: BenchConnection, tag: string, samples: number, gapMs: number): Promise<Samples> {
  for (let i = 0; i < samples; i++) {
    await writer.write({
      tenantId: c.tenantId, companyId: c.companyId, connectionId: c.connectionId, entityType: 'time_entry',
      localId: `${tag}${i}`, operation: 'upsert', payload: entryPayload(c),
    })
    await sleep(gapMs)
  }
  await waitUntil(async () => {
    const r = await sql<{ n: number }>`select count(*)::int as n from align_entity_links where tenant_id = ${c.tenantId} and external_id like ${`${tag}%`}`.execute(db)
    return r.rows[0]!.n === samples
  }, 120_000, "B's rows")
  // last_attempt_at is the claim's start (worker clock, same machine).
  const rows = await sql<{ ms: number; claim_ms: number; claim_at: number; link_at: number }>`
    select extract(epoch from (l.created_at - o.created_at)) * 1000 as ms, extract(epoch from (o.last_attempt_at - o.created_at)) * 1000 as claim_ms,
           extract(epoch from o.last_attempt_at) * 1000 as claim_at, extract(epoch from l.created_at) * 1000 as link_at
      from align_sync_outbox o join align_entity_links l on l.tenant_id = o.tenant_id and l.external_type = 'time_entry' and l.external_id = o.local_id
     where o.tenant_id = ${c.tenantId} and o.local_id like ${`${tag}%`} order by o.created_at`.execute(db)
  return {
    total: rows.rows.map((r) => Number(r.ms)), claimWait: rows.rows.map((r) => Number(r.claim_ms)),
    claimAt: rows.rows.map((r) => Number(r.claim_at)), linkAt: rows.rows.map((r) => Number(r.link_at)),
  }
}

/** B's path in stages (ms): NOTIFY → claim began, claim began → Align call sent, the call, answer → finish began. */
interface Stages { claimWait: number[]; toCall: number[]; call: number[]; toFinish: number[] }
interface Trial { alone: number[]; behind: number[]; backlogLeft: number; aDoneDuring: number; stages: { alone: Stages; behind: Stages } }

/** One worker and sandbox; B alone, then behind A's fresh backlog, `repeats` times. */
async function runCase(url: string, db: Kysely<Database>, limitPerMinute: number, plan: { repeats: number; alone: [number, number]; behind: [number, number] }): Promise<Trial[]> {
  const sandbox = await startSandboxThread(limitPerMinute)
  const writer = await startWriterThread(url)
  // B's Align calls as the worker saw them while a measurement runs (one per row; rows are written far enough
  // apart that their calls come in the rows' order): when each was sent and answered (epoch ms).
  let bCalls: Array<{ sentAt: number; answeredAt: number }> | null = null
  let bPath = ''
  const w = makeWorker(url, sandbox, { concurrency: 20, perConnectionClaim: 10, rateLimitPerMinute: limitPerMinute, pollIntervalMs: 2000 }, {
    onResponse: (info) => {
      const answeredAt = performance.timeOrigin + performance.now()
      if (bCalls && info.path === bPath) bCalls.push({ sentAt: answeredAt - info.durationMs, answeredAt })
    },
  })
  const measure = async (b: BenchConnection, tag: string, samples: number, gapMs: number) => {
    bCalls = []
    const sampled = await sampleLatencies(db, writer, b, tag, samples, gapMs)
    const calls = bCalls as Array<{ sentAt: number; answeredAt: number }>
    const paired = calls.length === sampled.total.length // a retried call would break the pairing: then no split
    const stages: Stages = {
      claimWait: sampled.claimWait,
      toCall: paired ? calls.map((c, i) => c.sentAt - sampled.claimAt[i]!) : [],
      call: calls.map((c) => c.answeredAt - c.sentAt),
      toFinish: paired ? calls.map((c, i) => sampled.linkAt[i]! - c.answeredAt) : [],
    }
    bCalls = null
    return { total: sampled.total, stages }
  }
  const trials: Trial[] = []
  try {
    const b = await setupConnection(db, sandbox, 0)
    bPath = `/projects/${b.alignProjectId}/time-entries`
    w.worker.start()
    await waitUntil(async () => w.worker.listening, 10_000, 'LISTEN')
    await sampleLatencies(db, writer, b, 'warm-', 20, plan.alone[1]) // warm-up
    for (let repeat = 0; repeat < plan.repeats; repeat++) {
      const alone = await measure(b, `alone${repeat}-`, ...plan.alone)
      const a = await setupConnection(db, sandbox, repeat + 1)
      await seedTimeEntryRows(db, a, BACKLOG)
      await sql`select pg_notify('align_sync_outbox', ${a.connectionId})`.execute(db)
      // Paced, B samples from A's first finished row on: A's opening burst, its pacing and the end of its first window.
      await waitUntil(async () => (await countRows(db, a.connectionId, 'done')) >= (limitPerMinute > 0 ? 1 : 200), 60_000, "A's drain to start")
      const doneBefore = await countRows(db, a.connectionId, 'done')
      const behind = await measure(b, `behind${repeat}-`, ...plan.behind)
      const backlogLeft = await countRows(db, a.connectionId, 'pending')
      const aDoneDuring = (await countRows(db, a.connectionId, 'done')) - doneBefore
      trials.push({ alone: alone.total, behind: behind.total, backlogLeft, aDoneDuring, stages: { alone: alone.stages, behind: behind.stages } })
      // Paced, the rest of A's backlog would take half an hour: it is dropped (rows in hand finish or come back, and go too).
      const dropRest = async () => {
        if (limitPerMinute > 0) await sql`delete from align_sync_outbox where connection_id = ${a.connectionId} and status = 'pending'`.execute(db)
      }
      await waitUntil(async () => {
        await dropRest()
        return (await countRows(db, a.connectionId, 'pending')) === 0 && (await countRows(db, a.connectionId, 'processing')) === 0
      }, 600_000, "A's backlog to drain")
    }
  } finally {
    await w.close()
    await writer.close()
    await sandbox.close()
  }
  return trials
}

export const syncWorkerFairness: Bench = {
  name: 'sync-worker-fairness',
  title: "sync-worker: one tenant's single rows behind another tenant's 20k backlog",
  async run(): Promise<BenchResult> {
    const database = await createBenchDatabase('sync_fairness')
    const db = createDb(database.url, { max: 6 })
    let stress: Trial[]
    let realistic: Trial[]
    try {
      stress = await runCase(database.url, db, 0, { repeats: STRESS.repeats, alone: [STRESS.samples, STRESS.gapMs], behind: [STRESS.samples, STRESS.gapMs] })
      realistic = await runCase(database.url, db, REALISTIC.limitPerMinute, {
        repeats: REALISTIC.repeats, alone: [REALISTIC.aloneSamples, REALISTIC.aloneGapMs], behind: [REALISTIC.behindSamples, REALISTIC.behindGapMs],
      })
    } finally {
      await db.destroy()
      await database.drop()
    }
    const summary = (trials: Trial[]) => {
      const alone = percentile(trials.flatMap((t) => t.alone), 99)
      const behind = percentile(trials.flatMap((t) => t.behind), 99)
      // Also the earlier statistic: the median over trials of each trial's p99 (with 40 samples, its maximum).
      const perTrial = median(trials.map((t) => percentile(t.behind, 99))) / median(trials.map((t) => percentile(t.alone, 99)))
      const p50 = percentile(trials.flatMap((t) => t.behind), 50) / percentile(trials.flatMap((t) => t.alone), 50)
      return { alone, behind, ratio: behind / alone, samples: trials.flatMap((t) => t.behind).length, perTrial, p50 }
    }
    const s = summary(stress)
    const r = summary(realistic)
    const rows = (trials: Trial[]) => trials.map((t, i) => `| ${i + 1} | ${formatNumber(median(t.alone), 1)} / ${formatNumber(percentile(t.alone, 99), 1)} | `
      + `${formatNumber(median(t.behind), 1)} / ${formatNumber(percentile(t.behind, 99), 1)} | ${formatNumber(t.aDoneDuring, 0)} | ${formatNumber(t.backlogLeft, 0)} |`)
    const header = ['| trial | B alone p50 / p99 (ms) | B behind backlog p50 / p99 (ms) | A done | backlog left |', '|---|---|---|---|---|']
    // Where B's time goes, over all trials of a case: the whole path, the wait for the claim, and the Align call.
    const pp = (values: number[]) => `${formatNumber(percentile(values, 50), 1)} / ${formatNumber(percentile(values, 99), 1)}`
    const stageRows = (trials: Trial[]) => [
      '| B\'s stage, p50 / p99 (ms) | alone | behind the backlog |',
      '|---|---|---|',
      `| whole path (row written → link written) | ${pp(trials.flatMap((t) => t.alone))} | ${pp(trials.flatMap((t) => t.behind))} |`,
      `| row written → its claim began (NOTIFY, event loop) | ${pp(trials.flatMap((t) => t.stages.alone.claimWait))} | ${pp(trials.flatMap((t) => t.stages.behind.claimWait))} |`,
      `| claim began → Align call sent (claim, lookups, rate budget) | ${pp(trials.flatMap((t) => t.stages.alone.toCall))} | ${pp(trials.flatMap((t) => t.stages.behind.toCall))} |`,
      `| Align call as the worker saw it (request → answer) | ${pp(trials.flatMap((t) => t.stages.alone.call))} | ${pp(trials.flatMap((t) => t.stages.behind.call))} |`,
      `| answer → finish began (the finish transaction's start) | ${pp(trials.flatMap((t) => t.stages.alone.toFinish))} | ${pp(trials.flatMap((t) => t.stages.behind.toFinish))} |`,
    ]
    const markdown = [
      `Tenant B writes single time_entry rows (each in its own api-style transaction + NOTIFY); its p99 latency (link written −`,
      `row written, database clock) is measured alone, then while tenant A drains a fresh ${formatNumber(BACKLOG, 0)}-row backlog.`,
      'One worker (concurrency 20, 10 rows per connection per claim, LISTEN/NOTIFY, 2 s poll) and the queries run in this process;',
      'the sandbox runs on a worker thread of its own (Align is a remote service: an in-process sandbox would put Align\'s half of',
      'every call on the worker\'s event loop), and so does B\'s writer (the api commits from another process: a writer on the',
      'worker\'s loop would wait behind the backlog\'s callbacks before its commit went out), in both measurements; all share 2 cores with Postgres.',
      '`A done` is how many of A\'s rows finished while B\'s samples were written;',
      '`backlog left` is A\'s pending rows after B\'s last sample: the backlog was there throughout.',
      '',
      `The target (B's p99 behind the backlog ≤ ${TARGET_RATIO}× its p99 alone) is the realistic case's: the issue's fairness bench runs against`,
      "the sandbox's default, Align's 600/min per key (its throughput bench names rate limiting off; the fairness bench does not). The stress",
      'case goes beyond it and is reported against the same ratio, not counted in the verdict.',
      '',
      `**Stress** (beyond the target): rate limiting off in the sandbox and the worker, so A drains at full speed (no real key can: Align allows 600/min)`,
      `and saturates the CPU every step of B's row also needs. ${STRESS.samples} samples ${STRESS.gapMs} ms apart per measurement, ${STRESS.repeats} trials (a fresh backlog each).`,
      '',
      ...header,
      ...rows(stress),
      '',
      `p99 over all ${s.samples} samples of each side: alone ${formatNumber(s.alone, 1)} ms, behind the backlog ${formatNumber(s.behind, 1)} ms: **${formatNumber(s.ratio, 2)}×** (${s.ratio <= TARGET_RATIO ? 'within' : 'over'} ${TARGET_RATIO}×).`,
      `For comparison: median of the per-trial p99s ${formatNumber(s.perTrial, 2)}×; p50 over all samples ${formatNumber(s.p50, 2)}×.`,
      '',
      ...stageRows(stress),
      '',
      `**Realistic** (the target): A's key at Align's ${REALISTIC.limitPerMinute}/min (the sandbox enforces it per key, the worker paces to it with the`,
      'shared budget: a burst of 45, then one call per ~102 ms, at most 591 per 60.5 s window). Alone: ' +
        `${REALISTIC.aloneSamples} samples ${REALISTIC.aloneGapMs} ms apart; behind: ${REALISTIC.behindSamples} samples ${REALISTIC.behindGapMs} ms apart from A's first`,
      `finished row on, spanning its opening burst, its pacing and the end of its first window. ${REALISTIC.repeats} trials, a fresh backlog each (the rest of the`,
      "previous one dropped: paced, it would take half an hour).",
      '',
      ...header,
      ...rows(realistic),
      '',
      `p99 over all ${r.samples} samples of each side: alone ${formatNumber(r.alone, 1)} ms, behind the backlog ${formatNumber(r.behind, 1)} ms: **${formatNumber(r.ratio, 2)}×** (target ≤ ${TARGET_RATIO}×).`,
      '',
      ...stageRows(realistic),
    ].join('\n')
    return {
      markdown,
      figures: {
        p99AloneMs: s.alone, p99BehindMs: s.behind, ratio: s.ratio, perTrialP99Ratio: s.perTrial, p50Ratio: s.p50,
        realisticP99AloneMs: r.alone, realisticP99BehindMs: r.behind, realisticRatio: r.ratio,
      },
      // The backlog must have been there throughout B's samples in both cases, or the measurement says nothing.
      targetsMet: r.ratio <= TARGET_RATIO && [...stress, ...realistic].every((t) => t.backlogLeft > 0),
    }
  },
}
