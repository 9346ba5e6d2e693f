// sync-worker throughput vs graphile-worker: drain 20k time_entry rows into a sandbox with rate limiting
// off. graphile-worker (its recommended batched settings: localQueue.size = concurrency + 1, completion and
// failure batching on) runs the same handler: the link lookups our handler does, the gateway call, and the
// finish (link upsert + time entry sync_status + connection last_sync_at). Same database, same sandbox, same
// concurrency and pool size, trials alternating in one run; medians of the repeats.
import { startAlignSandbox } from '@illumera/align-sandbox'
import { createDb, type Database } from '@illumera/db-schema'
import { PREPARED_STATEMENT_MARKER } from '@illumera/service-kit'
import { createGatewayFactory, createWorkerDb } from '@illumera/sync-worker'
import { Logger, makeWorkerUtils, run } from 'graphile-worker'
import { type Kysely, sql } from 'kysely'
import { formatNumber, median, type Bench, type BenchResult } from '../bench.js'
import { box, type BenchConnection, createBenchDatabase, entryPayload, makeWorker, seedTimeEntryRows, setupConnection, silentLogger, waitUntil } from './sync-worker-support.js'

const ROWS = Number(process.env.BENCH_SYNC_ROWS ?? 20_000)
const REPEATS = 3
const CONCURRENCY = 20
const POOL = CONCURRENCY + 2
const TARGET_RATIO = 1.0

async function linkedEntries(db: Kysely<Database>, tenantId: string): Promise<number> {
  const r = await sql<{ n: number }>`select count(*)::int as n from align_entity_links where tenant_id = ${tenantId} and external_type = 'time_entry'`.execute(db)
  return r.rows[0]!.n
}

/** The handler graphile-worker runs: what our time_entry handler and finish do for a create. */
function graphileHandler(db: Kysely<Database>, gatewayFor: ReturnType<typeof createGatewayFactory>) {
  const connections = new Map<string, { id: string; encrypted_api_key: string }>()
  return async (raw: unknown) => {
    const job = raw as { connectionId: string; tenantId: string; companyId: string; localId: string; payload: ReturnType<typeof entryPayload> }
    let connection = connections.get(job.connectionId)
    if (!connection) {
      connection = await db.selectFrom('align_connections').select(['id', 'encrypted_api_key']).where('id', '=', job.connectionId).executeTakeFirstOrThrow()
      connections.set(job.connectionId, connection)
    }
    const p = job.payload
    // The same statements as our handler's, prepared the same way (marker → named prepared statement).
    const links = await sql<{ external_type: string; external_id: string; align_entity_id: string }>`${sql.raw(PREPARED_STATEMENT_MARKER)}
      select external_type, external_id, align_entity_id from align_entity_links
       where tenant_id = ${job.tenantId} and (external_type, external_id) in (('time_entry', ${job.localId}), ('project', ${p.localProjectId}), ('user', ${p.localUserId}))`.execute(db)
    if (links.rows.some((l) => l.external_type === 'time_entry')) return
    const projectId = links.rows.find((l) => l.external_type === 'project')!.align_entity_id
    const userId = links.rows.find((l) => l.external_type === 'user')!.align_entity_id
    const member = await sql`${sql.raw(PREPARED_STATEMENT_MARKER)}
      select external_type, external_id, align_entity_type, align_entity_id from align_entity_links
       where tenant_id = ${job.tenantId} and align_entity_type = 'project_member' and align_entity_id = ${`${projectId}:${userId}`}`.execute(db)
    if (member.rows.length === 0) throw new Error('bench: membership link missing')
    const created = await gatewayFor(connection).createTimeEntry(projectId, {
      userId, workDate: p.workDate, minutes: p.minutes, description: p.notes, billable: p.timeBillingEnabled,
      externalRef: { externalType: 'time_entry', externalId: job.localId },
    }, { idempotencyKey: job.localId })
    const now = new Date()
    await sql`${sql.raw(PREPARED_STATEMENT_MARKER)}
      with link as (
        insert into align_entity_links (tenant_id, company_id, external_type, external_id, align_entity_type, align_entity_id)
        values (${job.tenantId}, ${job.companyId}, 'time_entry', ${job.localId}, 'time_entry', ${created.id})
        on conflict (tenant_id, external_type, external_id) do update set align_entity_id = excluded.align_entity_id
      ), entry as (
        update time_entries set sync_status = 'synced', sync_error = null where id = ${job.localId} and tenant_id = ${job.tenantId}
      )
      update align_connections set last_sync_at = ${now}
       where id = ${job.connectionId} and (last_sync_at is null or last_sync_at < ${new Date(now.getTime() - 1000)})`.execute(db)
  }
}

export const syncWorkerThroughput: Bench = {
  name: 'sync-worker-throughput',
  title: 'sync-worker: draining 20k time entries vs graphile-worker running the same handler',
  async run(): Promise<BenchResult> {
    const database = await createBenchDatabase('sync_throughput')
    const sandbox = await startAlignSandbox({ port: 0, rateLimitPerMinute: 0 })
    const db = createDb(database.url, { max: 4 })
    const ours: number[] = []
    const theirs: number[] = []
    try {
      const utils = await makeWorkerUtils({ connectionString: database.url })
      await utils.migrate()
      await utils.release()
      const gatewayFor = createGatewayFactory({ box, baseUrl: sandbox.apiBaseUrl, timeoutMs: 30_000 })
      let n = 0
      const runOurs = async (rows: number): Promise<number> => {
        const c = await setupConnection(db, sandbox, n++)
        await seedTimeEntryRows(db, c, rows)
        const w = makeWorker(database.url, sandbox, { concurrency: CONCURRENCY, perConnectionClaim: CONCURRENCY, rateLimitPerMinute: 0, pollIntervalMs: 100 }, { poolSize: POOL })
        const started = performance.now()
        w.worker.start()
        await waitUntil(async () => (await linkedEntries(db, c.tenantId)) === rows, 600_000, 'our worker to drain', 100)
        const perSecond = rows / ((performance.now() - started) / 1000)
        await w.close()
        await check(sandbox, c, rows)
        return perSecond
      }
      const runGraphile = async (rows: number): Promise<number> => {
        const c = await setupConnection(db, sandbox, n++)
        const workerUtils = await makeWorkerUtils({ connectionString: database.url })
        const jobs = Array.from({ length: rows }, (_, i) => ({
          identifier: 'sync_time_entry',
          payload: { connectionId: c.connectionId, tenantId: c.tenantId, companyId: c.companyId, localId: `${c.connectionId}-gw-${i}`, payload: entryPayload(c) },
        }))
        for (let i = 0; i < jobs.length; i += 2000) await workerUtils.addJobs(jobs.slice(i, i + 2000))
        await workerUtils.release()
        // The handler's statements prepared and planned as in our worker's pool (createWorkerDb), so both run them alike.
        const handlerDb = createWorkerDb(database.url, silentLogger(), { max: POOL, name: 'bench-graphile-handler' })
        const task = graphileHandler(handlerDb, gatewayFor)
        const started = performance.now()
        const runner = await run({
          connectionString: database.url,
          concurrency: CONCURRENCY,
          noHandleSignals: true,
          pollInterval: 100,
          logger: new Logger(() => () => {}),
          taskList: { sync_time_entry: async (payload) => { await task(payload) } },
          preset: { worker: { localQueue: { size: CONCURRENCY + 1 }, completeJobBatchDelay: 0, failJobBatchDelay: 0, maxPoolSize: POOL } },
        })
        await waitUntil(async () => (await linkedEntries(db, c.tenantId)) === rows, 600_000, 'graphile-worker to drain', 100)
        const perSecond = rows / ((performance.now() - started) / 1000)
        await runner.stop()
        await handlerDb.destroy()
        await check(sandbox, c, rows)
        return perSecond
      }
      // A short unrecorded warm-up of each (JIT, caches), then trials alternating which goes first.
      await runOurs(2_000)
      await runGraphile(2_000)
      for (let repeat = 0; repeat < REPEATS; repeat++) {
        if (repeat % 2 === 0) {
          ours.push(await runOurs(ROWS))
          theirs.push(await runGraphile(ROWS))
        } else {
          theirs.push(await runGraphile(ROWS))
          ours.push(await runOurs(ROWS))
        }
      }
    } finally {
      await db.destroy()
      await sandbox.close()
      await database.drop()
    }
    const oursMedian = median(ours)
    const theirsMedian = median(theirs)
    const ratio = oursMedian / theirsMedian
    const markdown = [
      `Drain ${formatNumber(ROWS, 0)} pending \`time_entry\` creates into an in-process align-sandbox (rate limiting off), one`,
      `connection whose project, user and membership are already linked. Both queues run in this process with concurrency`,
      `${CONCURRENCY} and a pool of ${POOL}; graphile-worker ${'0.18'} uses its recommended batching (localQueue.size = concurrency + 1,`,
      '`completeJobBatchDelay: 0`, `failJobBatchDelay: 0`) and runs the same handler: the link lookups, `createTimeEntry` through',
      'the same gateway, and the finish (link upsert, `time_entries.sync_status`, `last_sync_at`); its statements are prepared',
      'on both sides (the worker pool, `createWorkerDb`: parsed once, planned per call), as are our queue\'s hot statements. The handler code is the same;',
      'our worker answers its link lookups for all units in flight with one statement per event-loop turn, graphile-worker runs',
      'them per job. Our worker adds what the outbox needs: fair claim with per-entity order, coalescing, leases with fencing,',
      'dependency wake-ups.',
      `Rows/s = rows ÷ time from start until the last link is written; after one 2k-row warm-up of each, ${REPEATS} trials each,
      alternating which system goes first; medians.`,
      '',
      '| system | trials (rows/s) | median rows/s |',
      '|---|---|---|',
      `| sync-worker | ${ours.map((x) => formatNumber(x, 0)).join(', ')} | ${formatNumber(oursMedian, 0)} |`,
      `| graphile-worker (same handler) | ${theirs.map((x) => formatNumber(x, 0)).join(', ')} | ${formatNumber(theirsMedian, 0)} |`,
      '',
      `Ratio sync-worker / graphile-worker: **${formatNumber(ratio, 2)}×** (target ≥ ${TARGET_RATIO.toFixed(1)}×).`,
    ].join('\n')
    return { markdown, figures: { oursRowsPerSecond: oursMedian, graphileRowsPerSecond: theirsMedian, ratio }, targetsMet: ratio >= TARGET_RATIO }
  },
}

async function check(sandbox: Awaited<ReturnType<typeof startAlignSandbox>>, c: BenchConnection, rows: number): Promise<void> {
  const state = await sandbox.control.state(c.organizationId)
  const ids = new Set(state.timeEntries.map((e) => e.externalRef?.externalId))
  if (state.timeEntries.length !== rows || ids.size !== rows) throw new Error(`bench: expected ${rows} distinct entries in Align, found ${state.timeEntries.length} (${ids.size} distinct)`)
}
