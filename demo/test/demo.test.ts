// `pnpm demo` end to end, as CI runs it: the api, the webhook-ingest and a sync-worker as real processes
// (from their TypeScript sources, so no build is needed) on free ports against this file's database, the
// Align sandbox (Align's stand-in) in this process, then the demo as a real process against them. Its exit
// code and every step line are checked, and what it claims is checked again in the database. Then, with
// the sync-worker stopped, a step cannot succeed: the demo must exit 1 naming that step.
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { type AlignSandbox, startAlignSandbox } from '@illumera/align-sandbox'
import { tsSourceLoaderUrl, useTestDatabase } from '@illumera/test-harness'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const t = useTestDatabase()
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const sourceFlags = ['--conditions=@illumera/source', '--import', tsSourceLoaderUrl]

const STEP_TITLES = [
  'set up: an Align organization and keys (sandbox), dev tokens',
  'a project-scoped Align key is rejected',
  'connect the company with an org-scoped key',
  'create a project → it appears in Align',
  'activate it → staffing wiki page in Align',
  'accept an engagement → user invited and added as member',
  'log and submit a time entry → submitted in Align',
  'approve it in Align → webhook arrives, Illumera shows approved',
  'log an entry directly in Align → imported into Illumera',
  'run reconciliation → exit 0, nothing found',
  'change a value in Align → reconciliation exit 1, discrepancy',
]

interface Running {
  name: string
  child: ChildProcess
  output: string[]
  exited: Promise<number | null>
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

/** A program of the repository run from its TypeScript sources, as `node dist/…` would run it built. */
function startSource(name: string, entry: string, env: Record<string, string>): Running {
  const child = spawn(process.execPath, [...sourceFlags, path.join(repoRoot, entry)], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] })
  const output: string[] = []
  child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  return { name, child, output, exited }
}

async function waitUntilAnswers(service: Running, url: string, limitMs: number): Promise<void> {
  let exitCode: number | null | undefined
  void service.exited.then((code) => (exitCode = code))
  for (const deadline = Date.now() + limitMs; Date.now() < deadline;) {
    if (exitCode !== undefined) throw new Error(`${service.name} exited with ${exitCode}:\n${service.output.join('')}`)
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(1000) })).ok) return
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`${service.name} did not answer ${url} within ${limitMs} ms:\n${service.output.join('')}`)
}

const services: Running[] = []
let sandbox: AlignSandbox
let env: Record<string, string>
let demoEnv: Record<string, string>
let devKeyDir: string

beforeAll(async () => {
  sandbox = await startAlignSandbox({ port: 0 })
  const [apiPort, ingestPort, workerPort] = await Promise.all([freePort(), freePort(), freePort()])
  devKeyDir = mkdtempSync(path.join(tmpdir(), 'illumera-demo-keys-'))
  // What scripts/start.mjs gives every process, on this file's database and free ports.
  env = {
    PATH: process.env.PATH ?? '',
    DATABASE_URL: t.url,
    ALIGN_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    ALIGN_BASE_URL: sandbox.apiBaseUrl,
    ALIGN_WEBHOOK_BASE_URL: `http://127.0.0.1:${ingestPort}`,
    AUTH_DEV_KEYS: '1',
    AUTH_DEV_KEY_DIR: devKeyDir,
    LOG_LEVEL: 'warn',
  }
  const started: Array<[Running, string]> = [
    [startSource('api', 'services/api/src/main.ts', { ...env, PORT: String(apiPort) }), `http://127.0.0.1:${apiPort}/readyz`],
    [startSource('webhook-ingest', 'services/webhook-ingest/src/main.ts', { ...env, PORT: String(ingestPort) }), `http://127.0.0.1:${ingestPort}/readyz`],
    [startSource('sync-worker', 'services/sync-worker/src/main.ts', { ...env, PORT: String(workerPort) }), `http://127.0.0.1:${workerPort}/readyz`],
  ]
  services.push(...started.map(([service]) => service))
  await Promise.all(started.map(([service, url]) => waitUntilAnswers(service, url, 90_000)))
  demoEnv = { ...env, DEMO_API_URL: `http://127.0.0.1:${apiPort}`, NO_COLOR: '1' }
})

afterAll(async () => {
  for (const service of services) service.child.kill('SIGTERM')
  await Promise.all(services.map((service) => service.exited))
  await sandbox?.close()
  if (devKeyDir) rmSync(devKeyDir, { recursive: true, force: true })
})

function runDemo(extraEnv: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const demo = startSource('demo', 'demo/src/main.ts', { ...demoEnv, ...extraEnv })
  return demo.exited.then((code) => ({ code, output: demo.output.join('') }))
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

describe('pnpm demo', () => {
  it('walks the whole checklist against the running stack, each step timed, and exits 0', async () => {
    const { code, output } = await runDemo()

    expect(code, output).toBe(0)
    for (const [index, title] of STEP_TITLES.entries()) {
      expect(output).toMatch(new RegExp(`✓\\s+${index + 1}\\. ${escape(title)}\\s+\\d+ ms`))
    }
    expect(output).toContain(`All ${STEP_TITLES.length} steps passed in`)

    // What the demo reported, seen in the database: the approved entry and the one imported from Align,
    // and two reconciliation runs of its connection, the first clean, the second with the changed minutes.
    const entries = await t.db.selectFrom('time_entries').select(['status', 'source', 'minutes']).orderBy('created_at').execute()
    expect(entries).toEqual([
      { status: 'approved', source: 'illumera', minutes: 90 },
      { status: 'draft', source: 'align', minutes: 45 },
    ])
    const runs = await t.db.selectFrom('align_reconciliation_runs').select(['outcome']).orderBy('started_at').execute()
    expect(runs.map((r) => r.outcome)).toEqual(['ok', 'discrepancies'])
    const found = await t.db.selectFrom('align_reconciliation_log').select(['field', 'illumera_value', 'align_value']).execute()
    expect(found).toEqual([{ field: 'approved_minutes', illumera_value: '90', align_value: '120' }])
  }, 120_000)

  it('exits 1 naming the step that cannot succeed (no sync-worker: the project never reaches Align)', async () => {
    const worker = services.find((s) => s.name === 'sync-worker')!
    worker.child.kill('SIGTERM')
    expect(await worker.exited).toBe(0)

    const { code, output } = await runDemo({ DEMO_WAIT_TIMEOUT_MS: '1500' })

    expect(code, output).toBe(1)
    for (const [index, title] of STEP_TITLES.slice(0, 3).entries()) expect(output).toMatch(new RegExp(`✓\\s+${index + 1}\\. ${escape(title)}`))
    expect(output).toMatch(new RegExp(`✗\\s+4\\. ${escape(STEP_TITLES[3]!)}\\s+\\d+ ms`))
    expect(output).toContain('timed out after 1500 ms waiting for the project in Align')
    expect(output).toContain('1 pending')
    for (const [index, title] of STEP_TITLES.slice(4).entries()) expect(output).toContain(`${index + 5}. ${title}   (not run)`)
    expect(output).toContain(`FAILED at step 4 (${STEP_TITLES[3]})`)
  }, 60_000)
})
