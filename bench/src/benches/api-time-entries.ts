// POST /api/time-entries through the real api process (auth, validation, engagement lookup, one
// statement writing the domain row + outbox row for a company with an active connection, then the
// worker's wake-up NOTIFY after the commit) versus a bare Fastify process doing one plain INSERT on the
// same database. Both run as separate processes with LOG_LEVEL=warn; the load generator (undici, 50
// connections) and a LISTEN connection standing in for the sync worker run here. Trials alternate between
// the two targets; figures are medians of the repeats.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { cpus } from 'node:os'
import path from 'node:path'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'
import { createDb, migrateToLatest, OUTBOX_NOTIFY_CHANNEL } from '@illumera/db-schema'
import { startLocalPostgres } from '@illumera/local-postgres'
import { exportSPKI, generateKeyPair, SignJWT } from 'jose'
import pg from 'pg'
import { Pool } from 'undici'
import { formatNumber, median, percentile, type Bench, type BenchResult } from '../bench.js'

const CONCURRENCY = 50
const REPEATS = 5
const TRIAL_MS = 3_000
const WARMUP_MS = 1_500
const TARGET_RATIO = 0.6
const TARGET_P99_MS = 100
/**
 * DB_POOL_SIZE of both processes for the target: (2 × cores) + 1, the usual sizing when PostgreSQL runs on the
 * same cores as the load (more backends than that only queue for the CPU and for each other's locks).
 */
const POOL_SIZE = 5
/** Also measured, fewer trials, for comparison: the api's default DB_POOL_SIZE. */
const DEFAULT_POOL_SIZE = 10
const DEFAULT_POOL_REPEATS = 3

const here = path.dirname(fileURLToPath(import.meta.url))
const apiMain = path.resolve(here, '../../../services/api/dist/main.js')
const bareServer = path.join(here, 'api-time-entries-bare-server.js')

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
}

/** Starts a node process; it is ready when a line matches `readyPattern` or `readyUrl` answers 200. */
async function startProcess(script: string, env: Record<string, string>, readyPattern: RegExp | null, readyUrl: string | null): Promise<ChildProcess> {
  const child = spawn(process.execPath, [script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const output: string[] = []
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${path.basename(script)} did not start: ${output.join('\n')}`)), 30_000)
    for (const stream of [child.stdout!, child.stderr!]) {
      readline.createInterface({ input: stream }).on('line', (line) => {
        output.push(line)
        if (readyPattern?.test(line)) {
          clearTimeout(timer)
          resolve()
        }
      })
    }
    if (readyUrl) {
      void (async () => {
        for (let i = 0; i < 300; i++) {
          const ok = await fetch(readyUrl).then((r) => r.ok, () => false)
          if (ok) {
            clearTimeout(timer)
            return resolve()
          }
          await new Promise((r) => setTimeout(r, 100))
        }
      })()
    }
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${path.basename(script)} exited with ${code}: ${output.join('\n')}`))
    })
  })
  child.removeAllListeners('exit')
  return child
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}

interface Trial {
  rps: number
  p50: number
  p99: number
  errors: number
  /** CPU time per request in µs: the server process, PostgreSQL (every backend), the load generator. */
  cpuUs: { server: number; postgres: number | null; load: number }
}

// CPU accounting from /proc (Linux), to show where each request's cost goes on a CPU-bound machine.
const CLOCK_TICK_MS = 10 // USER_HZ is 100 on Linux

function cpuMsOf(pid: number, withReapedChildren = false): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    const ticks = Number(fields[11]) + Number(fields[12]) + (withReapedChildren ? Number(fields[13]) + Number(fields[14]) : 0)
    return ticks * CLOCK_TICK_MS
  } catch {
    return Number.NaN
  }
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

/** The local PostgreSQL this process started (postmaster plus every backend), or null when it runs elsewhere. */
function postgresCpuMs(): number | null {
  const postmasters = childPids(process.pid).filter((pid) => {
    try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres' } catch { return false }
  })
  if (postmasters.length === 0) return null
  let ms = 0
  for (const pm of postmasters) {
    ms += cpuMsOf(pm, true)
    for (const backend of childPids(pm)) ms += cpuMsOf(backend)
  }
  return Number.isNaN(ms) ? null : ms
}

function selfCpuMs(): number {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1000
}

/** Each load connection is one talent: its engagement id and its request headers. */
interface Caller {
  engagementId: string
  headers: Record<string, string>
}

async function runTrial(origin: string, url: string, callers: Caller[], ms: number, server: ChildProcess): Promise<Trial> {
  const cpuBefore = { server: cpuMsOf(server.pid!), postgres: postgresCpuMs(), load: selfCpuMs() }
  const pool = new Pool(origin, { connections: CONCURRENCY, pipelining: 1 })
  const latencies: number[] = []
  let errors = 0
  let day = 0
  const deadline = performance.now() + ms
  const start = performance.now()
  try {
    await Promise.all(callers.map(async ({ engagementId, headers }) => {
      while (performance.now() < deadline) {
        const body = JSON.stringify({ engagementId, workDate: `2026-11-${String((day++ % 28) + 1).padStart(2, '0')}`, minutes: 60, notes: 'bench' })
        const t0 = performance.now()
        const res = await pool.request({ method: 'POST', path: url, headers: { 'content-type': 'application/json', ...headers }, body })
        await res.body.dump()
        latencies.push(performance.now() - t0)
        if (res.statusCode !== 201) errors++
      }
    }))
  } finally {
    await pool.close()
  }
  const elapsed = (performance.now() - start) / 1000
  const postgresAfter = postgresCpuMs()
  const perRequest = (before: number, after: number) => ((after - before) * 1000) / latencies.length
  const cpuUs = {
    server: perRequest(cpuBefore.server, cpuMsOf(server.pid!)),
    postgres: cpuBefore.postgres === null || postgresAfter === null ? null : perRequest(cpuBefore.postgres, postgresAfter),
    load: perRequest(cpuBefore.load, selfCpuMs()),
  }
  return { rps: latencies.length / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors, cpuUs }
}

export const apiTimeEntries: Bench = {
  name: 'api-time-entries',
  title: 'API: POST /api/time-entries (row + outbox row, NOTIFY after commit) vs a bare INSERT route',
  async run(): Promise<BenchResult> {
    const local = process.env.DATABASE_URL ? undefined : await startLocalPostgres()
    const serverUrl = process.env.DATABASE_URL ?? local!.url
    const dbName = `bench_api_${randomBytes(4).toString('hex')}`
    const admin = new pg.Client({ connectionString: serverUrl })
    await admin.connect()
    await admin.query(`create database ${dbName}`)
    const url = new URL(serverUrl)
    url.pathname = `/${dbName}`
    const databaseUrl = url.toString()
    const children: ChildProcess[] = []
    let listener: pg.Client | undefined
    let wakeUps = 0
    try {
      const db = createDb(databaseUrl, { max: 2 })
      await migrateToLatest(db)
      const tenantId = `tenant-${randomUUID()}`
      const companyId = `company-${randomUUID()}`
      await db.insertInto('tenants').values({ id: tenantId, name: 'Bench' }).execute()
      await db.insertInto('company_profiles').values({ id: companyId, tenant_id: tenantId, name: 'Bench Co' }).execute()
      const project = await db.insertInto('projects').values({ tenant_id: tenantId, company_id: companyId, name: 'Bench project', status: 'active' }).returningAll().executeTakeFirstOrThrow()
      // One talent per load connection: 50 people logging time at once, each on their own engagement of the project.
      const talents: Array<{ userId: string; personId: string; engagementId: string }> = []
      for (let i = 0; i < CONCURRENCY; i++) {
        const user = await db.insertInto('users').values({ tenant_id: tenantId, email: `bench${i}@example.com`, name: `Bench Talent ${i}`, role: 'talent' }).returningAll().executeTakeFirstOrThrow()
        const person = await db.insertInto('person_profiles').values({ tenant_id: tenantId, user_id: user.id }).returningAll().executeTakeFirstOrThrow()
        const engagement = await db.insertInto('engagements').values({
          tenant_id: tenantId, company_id: companyId, project_id: project.id, person_id: person.id, hourly_rate_cents: 10_000, status: 'accepted', accepted_at: new Date(),
        }).returningAll().executeTakeFirstOrThrow()
        talents.push({ userId: user.id, personId: person.id, engagementId: engagement.id })
      }
      await db.insertInto('align_connections').values({
        tenant_id: tenantId, company_id: companyId, encrypted_api_key: 'bench', key_last_four: 'beef', align_org_id: 'org-bench', align_key_scope: 'organization',
      }).execute()
      await db.destroy()

      const { publicKey, privateKey } = await generateKeyPair('ES256')
      const tokens = await Promise.all(talents.map((t) => new SignJWT({ tenant_id: tenantId, company_id: companyId, role: 'talent' })
        .setProtectedHeader({ alg: 'ES256' }).setSubject(t.userId).setExpirationTime('2h').sign(privateKey)))

      // The sync worker's side of the wake-ups: a LISTEN connection (so each NOTIFY signals a listener, as
      // in production) that counts what arrives while the api is loaded.
      listener = new pg.Client({ connectionString: databaseUrl })
      await listener.connect()
      listener.on('notification', (message) => { if (message.channel === OUTBOX_NOTIFY_CHANNEL) wakeUps++ })
      await listener.query(`listen ${OUTBOX_NOTIFY_CHANNEL}`)

      const authPublicKey = await exportSPKI(publicKey)
      /** Starts both servers with this pool size, warms each up, runs `repeats` alternating trials, stops both. */
      const measure = async (poolSize: number, repeats: number): Promise<{ api: Trial[]; bare: Trial[] }> => {
        const apiPort = await freePort()
        const barePort = await freePort()
        const apiServer = await startProcess(apiMain, {
          DATABASE_URL: databaseUrl, PORT: String(apiPort), LOG_LEVEL: 'warn', DB_POOL_SIZE: String(poolSize), NODE_ENV: 'production',
          ALIGN_ENCRYPTION_KEY: randomBytes(32).toString('hex'), ALIGN_BASE_URL: 'http://127.0.0.1:9/api/v1', ALIGN_WEBHOOK_BASE_URL: 'http://127.0.0.1:3001',
          AUTH_PUBLIC_KEY: authPublicKey, AUTH_ALGORITHMS: 'ES256',
        }, null, `http://127.0.0.1:${apiPort}/readyz`)
        children.push(apiServer)
        const bareServerProcess = await startProcess(bareServer, {
          DATABASE_URL: databaseUrl, PORT: String(barePort), DB_POOL_SIZE: String(poolSize), TENANT_ID: tenantId, COMPANY_ID: companyId,
          PROJECT_ID: project.id,
        }, /^ready$/, null)
        children.push(bareServerProcess)
        const api = {
          origin: `http://127.0.0.1:${apiPort}`, path: '/api/time-entries', server: apiServer,
          callers: talents.map((t, i) => ({ engagementId: t.engagementId, headers: { authorization: `Bearer ${tokens[i]!}` } })),
        }
        // The bare route takes the talent's engagement and person from headers (it has no auth to find them).
        const bare = {
          origin: `http://127.0.0.1:${barePort}`, path: '/bare/time-entries', server: bareServerProcess,
          callers: talents.map((t) => ({ engagementId: t.engagementId, headers: { 'x-engagement': t.engagementId, 'x-person': t.personId } })),
        }
        await runTrial(api.origin, api.path, api.callers, WARMUP_MS, api.server)
        await runTrial(bare.origin, bare.path, bare.callers, WARMUP_MS, bare.server)
        const trials = { api: [] as Trial[], bare: [] as Trial[] }
        for (let i = 0; i < repeats; i++) {
          trials.api.push(await runTrial(api.origin, api.path, api.callers, TRIAL_MS, api.server))
          trials.bare.push(await runTrial(bare.origin, bare.path, bare.callers, TRIAL_MS, bare.server))
        }
        for (const child of [apiServer, bareServerProcess]) {
          await stopProcess(child)
          children.splice(children.indexOf(child), 1)
        }
        return trials
      }
      /** The api's outbox rows after `afterSeq` and the transactions that wrote them: one per create statement. */
      const statementsSince = async (afterSeq: string) => (await listener!.query(
        `select count(*)::integer as rows, count(distinct xmin::text)::integer as statements, coalesce(max(seq), $1)::text as last_seq
         from align_sync_outbox where seq > $1`, [afterSeq],
      )).rows[0] as { rows: number; statements: number; last_seq: string }
      const { api: apiTrials, bare: bareTrials } = await measure(POOL_SIZE, REPEATS)
      const targetStatements = await statementsSince('0')
      const atDefaultPool = await measure(DEFAULT_POOL_SIZE, DEFAULT_POOL_REPEATS)
      const defaultPoolStatements = await statementsSince(targetStatements.last_seq)
      const entriesPerStatement = (c: { rows: number; statements: number }) => c.rows / Math.max(1, c.statements)

      await new Promise((resolve) => setTimeout(resolve, 200)) // the last wake-ups are sent after the last commits
      const check = new pg.Client({ connectionString: databaseUrl })
      await check.connect()
      const counts = (await check.query(`select (select count(*) from time_entries) as entries, (select count(*) from align_sync_outbox) as outbox`)).rows[0] as { entries: string; outbox: string }
      await check.end()

      const apiRps = median(apiTrials.map((t) => t.rps))
      const bareRps = median(bareTrials.map((t) => t.rps))
      const apiP99 = median(apiTrials.map((t) => t.p99))
      const ratio = apiRps / bareRps
      const errors = [...apiTrials, ...bareTrials, ...atDefaultPool.api, ...atDefaultPool.bare].reduce((n, t) => n + t.errors, 0)
      const defaultPoolRatio = median(atDefaultPool.api.map((t) => t.rps)) / median(atDefaultPool.bare.map((t) => t.rps))
      const targetsMet = ratio >= TARGET_RATIO && apiP99 <= TARGET_P99_MS && errors === 0 && wakeUps > 0
      const row = (name: string, trials: Trial[]) =>
        `| ${name} | ${formatNumber(median(trials.map((t) => t.rps)), 0)} | ${formatNumber(median(trials.map((t) => t.p50)))} | ${formatNumber(median(trials.map((t) => t.p99)))} | ${trials.reduce((n, t) => n + t.errors, 0)} |`
      const cpu = (trials: Trial[]) => {
        const server = median(trials.map((t) => t.cpuUs.server))
        const postgres = trials.every((t) => t.cpuUs.postgres !== null) ? median(trials.map((t) => t.cpuUs.postgres!)) : null
        const load = median(trials.map((t) => t.cpuUs.load))
        return { server, postgres, load, total: server + (postgres ?? 0) + load }
      }
      const apiCpu = cpu(apiTrials)
      const bareCpu = cpu(bareTrials)
      const cpuRow = (name: string, c: ReturnType<typeof cpu>) =>
        `| ${name} | ${formatNumber(c.server, 0)} | ${c.postgres === null ? 'n/a' : formatNumber(c.postgres, 0)} | ${formatNumber(c.load, 0)} | ${formatNumber(c.total, 0)} |`
      const markdown = [
        `Method: ${CONCURRENCY} concurrent connections (undici), ${REPEATS} alternating trials of ${TRIAL_MS / 1000} s after a ${WARMUP_MS / 1000} s warm-up each;`,
        `medians of the trials. Each connection is one of ${CONCURRENCY} talents of one company (own bearer token, own accepted engagement on the`,
        'company\'s one project, which has an active Align connection): people logging time at once, as in production.',
        `Both servers are separate Node processes on the same PostgreSQL database, each with DB_POOL_SIZE=${POOL_SIZE} ((2 × cores) + 1: PostgreSQL`,
        'shares the 2 cores with the load; a comparison at the api\'s default pool size follows the CPU table); the load generator',
        'runs in the bench process on the same 2-core machine. The api runs with NODE_ENV=production and LOG_LEVEL=warn (no per-request log lines).',
        'The api request verifies an ES256 bearer token (the tenant/company "create on first use" upsert runs once per process, then is remembered),',
        'validates the body, and runs ONE statement (a data-modifying CTE, prepared once per pooled connection): it reads the accepted engagement',
        "scoped to the token's tenant/company and the talent's own person, reads the active connection, inserts the entry (sync_status pending)",
        'and the time_entry outbox row (payload built with jsonb_build_object) — atomically, so the entry and its outbox row commit together.',
        'Concurrent creates share that statement when the pool is busy (natural batching, createTimeEntryBatcher: at most DB_POOL_SIZE statements',
        'run at once; the creates that arrive meanwhile go together in the next, each input scoped by its own token); a create that finds a',
        'slot free goes at once, alone. The bare route has no such batching: each request is its own INSERT and commit.',
        'The statement does not NOTIFY: a transaction that notifies holds PostgreSQL\'s cluster-wide notify lock through its commit, so',
        'notifying creates queue on one another (services/api/README.md). After the commit the route hands the connection id to the api\'s',
        'wake-up notifier, which sends the queued ids in one `NOTIFY align_sync_outbox` statement at most every 5 ms on a connection of its',
        'own (the first of a quiet period at once).',
        'A LISTEN connection in the bench process stands in for the sync worker and counts the wake-ups. A wake-up lost to a crash between',
        "commit and send delays that row to the worker's next poll (2 s); the row itself is never lost.",
        'The 404/409 diagnostics run only when that statement wrote nothing.',
        'The baseline is one plain `INSERT … RETURNING id` in a bare Fastify route (no auth, no validation, no outbox, no NOTIFY).',
        '',
        '| target | req/s | p50 ms | p99 ms | non-201 |',
        '|---|---|---|---|---|',
        row('api POST /api/time-entries', apiTrials),
        row('bare INSERT route', bareTrials),
        '',
        `Ratio api/bare: **${ratio.toFixed(2)}×** (target ≥ ${TARGET_RATIO}×) ${ratio >= TARGET_RATIO ? '✓' : '✗'}; api p99 **${formatNumber(apiP99)} ms** (target ≤ ${TARGET_P99_MS} ms) ${apiP99 <= TARGET_P99_MS ? '✓' : '✗'}.`,
        '',
        'CPU per request in µs (medians of the trials, from /proc: the server process with all its threads, every PostgreSQL process',
        `of the local server, and this process as the load generator). CPU in use during the trials: api ${formatNumber((apiCpu.total * apiRps) / 1e6, 2)},`,
        `bare ${formatNumber((bareCpu.total * bareRps) / 1e6, 2)} of ${cpus().length} cores. Total CPU per request, bare/api: ${formatNumber(bareCpu.total / apiCpu.total, 2)} (the throughput ratio above`,
        'stays close to it while the machine is CPU-bound).',
        '',
        '| target | server process | PostgreSQL | load generator | total |',
        '|---|---|---|---|---|',
        cpuRow('api POST /api/time-entries', apiCpu),
        cpuRow('bare INSERT route', bareCpu),
        '',
        `The same pair at DB_POOL_SIZE=${DEFAULT_POOL_SIZE} (the api's default, sized for a database with cores of its own), ${DEFAULT_POOL_REPEATS} alternating trials`,
        'right after the ones above (fresh processes, same database):',
        '',
        '| target | req/s | p50 ms | p99 ms | non-201 |',
        '|---|---|---|---|---|',
        row(`api, DB_POOL_SIZE=${DEFAULT_POOL_SIZE}`, atDefaultPool.api),
        row(`bare, DB_POOL_SIZE=${DEFAULT_POOL_SIZE}`, atDefaultPool.bare),
        '',
        `Ratio api/bare at DB_POOL_SIZE=${DEFAULT_POOL_SIZE}: ${defaultPoolRatio.toFixed(2)}×.`,
        '',
        `Entries per create statement (the api's outbox rows per transaction that wrote them, warm-ups included): ${formatNumber(entriesPerStatement(targetStatements), 1)}`,
        `at DB_POOL_SIZE=${POOL_SIZE} (${targetStatements.rows} rows, ${targetStatements.statements} statements), ${formatNumber(entriesPerStatement(defaultPoolStatements), 1)} at ${DEFAULT_POOL_SIZE}: with more statements`,
        'running at once, fewer creates wait for each, so the batches are smaller and each entry costs more.',
        '',
        `Rows after the run: ${counts.entries} time entries, ${counts.outbox} outbox rows (one per api request); the listener received`,
        `${wakeUps} wake-ups for them (${formatNumber(Number(counts.outbox) / Math.max(1, wakeUps))} rows per NOTIFY).`,
      ].join('\n')
      return {
        markdown,
        figures: {
          apiRps, bareRps, ratio, defaultPoolRatio, entriesPerStatement: entriesPerStatement(targetStatements),
          entriesPerStatementDefaultPool: entriesPerStatement(defaultPoolStatements), apiP99Ms: apiP99, bareP99Ms: median(bareTrials.map((t) => t.p99)), errors, wakeUps,
          apiCpuUsPerRequest: apiCpu.total, bareCpuUsPerRequest: bareCpu.total,
          apiServerCpuUs: apiCpu.server, bareServerCpuUs: bareCpu.server,
          ...(apiCpu.postgres !== null && bareCpu.postgres !== null ? { apiPostgresCpuUs: apiCpu.postgres, barePostgresCpuUs: bareCpu.postgres } : {}),
        },
        targetsMet,
      }
    } finally {
      await listener?.end()
      for (const child of children) await stopProcess(child)
      await admin.query(`drop database if exists ${dbName} with (force)`)
      await admin.end()
      await local?.stop()
    }
  },
}
