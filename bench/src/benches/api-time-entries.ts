// POST /api/time-entries through the real api process (auth, validation, engagement lookup, one
// transaction with the domain row + outbox row + NOTIFY, for a company with an active connection)
// versus a bare Fastify process doing one plain INSERT on the same database. Both run as separate
// processes with LOG_LEVEL=warn; the load generator (undici, 50 connections) runs here. Trials
// alternate between the two targets; figures are medians of the repeats.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { createServer } from 'node:net'
import path from 'node:path'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'
import { createDb, migrateToLatest } from '@illumera/db-schema'
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
/** DB_POOL_SIZE of both processes. */
const POOL_SIZE = 10

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
}

async function runTrial(origin: string, url: string, headers: Record<string, string>, ms: number): Promise<Trial> {
  const pool = new Pool(origin, { connections: CONCURRENCY, pipelining: 1 })
  const latencies: number[] = []
  let errors = 0
  let day = 0
  const deadline = performance.now() + ms
  const start = performance.now()
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        const body = JSON.stringify({ engagementId: headers['x-engagement'], workDate: `2026-11-${String((day++ % 28) + 1).padStart(2, '0')}`, minutes: 60, notes: 'bench' })
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
  return { rps: latencies.length / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors }
}

export const apiTimeEntries: Bench = {
  name: 'api-time-entries',
  title: 'API: POST /api/time-entries (row + outbox + NOTIFY) vs a bare INSERT route',
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
    try {
      const db = createDb(databaseUrl, { max: 2 })
      await migrateToLatest(db)
      const tenantId = `tenant-${randomUUID()}`
      const companyId = `company-${randomUUID()}`
      await db.insertInto('tenants').values({ id: tenantId, name: 'Bench' }).execute()
      await db.insertInto('company_profiles').values({ id: companyId, tenant_id: tenantId, name: 'Bench Co' }).execute()
      const project = await db.insertInto('projects').values({ tenant_id: tenantId, company_id: companyId, name: 'Bench project', status: 'active' }).returningAll().executeTakeFirstOrThrow()
      const user = await db.insertInto('users').values({ tenant_id: tenantId, email: 'bench@example.com', name: 'Bench Talent', role: 'talent' }).returningAll().executeTakeFirstOrThrow()
      const person = await db.insertInto('person_profiles').values({ tenant_id: tenantId, user_id: user.id }).returningAll().executeTakeFirstOrThrow()
      const engagement = await db.insertInto('engagements').values({
        tenant_id: tenantId, company_id: companyId, project_id: project.id, person_id: person.id, hourly_rate_cents: 10_000, status: 'accepted', accepted_at: new Date(),
      }).returningAll().executeTakeFirstOrThrow()
      await db.insertInto('align_connections').values({
        tenant_id: tenantId, company_id: companyId, encrypted_api_key: 'bench', key_last_four: 'beef', align_org_id: 'org-bench', align_key_scope: 'organization',
      }).execute()
      await db.destroy()

      const { publicKey, privateKey } = await generateKeyPair('ES256')
      const token = await new SignJWT({ tenant_id: tenantId, company_id: companyId, role: 'talent' })
        .setProtectedHeader({ alg: 'ES256' }).setSubject(user.id).setExpirationTime('2h').sign(privateKey)

      const apiPort = await freePort()
      const barePort = await freePort()
      children.push(await startProcess(apiMain, {
        DATABASE_URL: databaseUrl, PORT: String(apiPort), LOG_LEVEL: 'warn', DB_POOL_SIZE: String(POOL_SIZE), NODE_ENV: 'production',
        ALIGN_ENCRYPTION_KEY: randomBytes(32).toString('hex'), ALIGN_BASE_URL: 'http://127.0.0.1:9/api/v1', ALIGN_WEBHOOK_BASE_URL: 'http://127.0.0.1:3001',
        AUTH_PUBLIC_KEY: await exportSPKI(publicKey), AUTH_ALGORITHMS: 'ES256',
      }, null, `http://127.0.0.1:${apiPort}/readyz`))
      children.push(await startProcess(bareServer, {
        DATABASE_URL: databaseUrl, PORT: String(barePort), DB_POOL_SIZE: String(POOL_SIZE), TENANT_ID: tenantId, COMPANY_ID: companyId,
        PROJECT_ID: project.id, ENGAGEMENT_ID: engagement.id, PERSON_ID: person.id,
      }, /^ready$/, null))

      const api = { origin: `http://127.0.0.1:${apiPort}`, path: '/api/time-entries', headers: { authorization: `Bearer ${token}`, 'x-engagement': engagement.id } }
      const bare = { origin: `http://127.0.0.1:${barePort}`, path: '/bare/time-entries', headers: { 'x-engagement': engagement.id } }
      await runTrial(api.origin, api.path, api.headers, WARMUP_MS)
      await runTrial(bare.origin, bare.path, bare.headers, WARMUP_MS)
      const apiTrials: Trial[] = []
      const bareTrials: Trial[] = []
      for (let i = 0; i < REPEATS; i++) {
        apiTrials.push(await runTrial(api.origin, api.path, api.headers, TRIAL_MS))
        bareTrials.push(await runTrial(bare.origin, bare.path, bare.headers, TRIAL_MS))
      }

      const check = new pg.Client({ connectionString: databaseUrl })
      await check.connect()
      const counts = (await check.query(`select (select count(*) from time_entries) as entries, (select count(*) from align_sync_outbox) as outbox`)).rows[0] as { entries: string; outbox: string }
      await check.end()

      const apiRps = median(apiTrials.map((t) => t.rps))
      const bareRps = median(bareTrials.map((t) => t.rps))
      const apiP99 = median(apiTrials.map((t) => t.p99))
      const ratio = apiRps / bareRps
      const errors = [...apiTrials, ...bareTrials].reduce((n, t) => n + t.errors, 0)
      const targetsMet = ratio >= TARGET_RATIO && apiP99 <= TARGET_P99_MS && errors === 0
      const row = (name: string, trials: Trial[]) =>
        `| ${name} | ${formatNumber(median(trials.map((t) => t.rps)), 0)} | ${formatNumber(median(trials.map((t) => t.p50)))} | ${formatNumber(median(trials.map((t) => t.p99)))} | ${trials.reduce((n, t) => n + t.errors, 0)} |`
      const markdown = [
        `Method: ${CONCURRENCY} concurrent connections (undici), ${REPEATS} alternating trials of ${TRIAL_MS / 1000} s after a ${WARMUP_MS / 1000} s warm-up each;`,
        `medians of the trials. Both servers are separate Node processes on the same PostgreSQL database, each with DB_POOL_SIZE=${POOL_SIZE}; the load generator`,
        'runs in the bench process on the same 2-core machine. The api runs with NODE_ENV=production and LOG_LEVEL=warn (no per-request log lines).',
        'The api request verifies an ES256 bearer token (the tenant/company "create on first use" upsert runs once per process, then is remembered),',
        'validates the body, and runs ONE statement (a data-modifying CTE, prepared once per pooled connection): it reads the accepted engagement',
        "scoped to the token's tenant/company and the talent's own person, reads the active connection, inserts the entry (sync_status pending),",
        'inserts the time_entry outbox row (payload built with jsonb_build_object) only when a connection exists, and calls pg_notify — atomically,',
        'so entry + outbox row + NOTIFY commit together. The 404/409 diagnostics run only when that statement wrote nothing.',
        'The baseline is one plain `INSERT … RETURNING id` in a bare Fastify route (no auth, no validation, no outbox, no NOTIFY).',
        '',
        '| target | req/s | p50 ms | p99 ms | non-201 |',
        '|---|---|---|---|---|',
        row('api POST /api/time-entries', apiTrials),
        row('bare INSERT route', bareTrials),
        '',
        `Ratio api/bare: **${ratio.toFixed(2)}×** (target ≥ ${TARGET_RATIO}×) ${ratio >= TARGET_RATIO ? '✓' : '✗'}; api p99 **${formatNumber(apiP99)} ms** (target ≤ ${TARGET_P99_MS} ms) ${apiP99 <= TARGET_P99_MS ? '✓' : '✗'}.`,
        `Rows after the run: ${counts.entries} time entries, ${counts.outbox} outbox rows (one per api request).`,
      ].join('\n')
      return { markdown, figures: { apiRps, bareRps, ratio, apiP99Ms: apiP99, bareP99Ms: median(bareTrials.map((t) => t.p99)), errors }, targetsMet }
    } finally {
      for (const child of children) await stopProcess(child)
      await admin.query(`drop database if exists ${dbName} with (force)`)
      await admin.end()
      await local?.stop()
    }
  },
}
