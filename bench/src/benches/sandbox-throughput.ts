// The Align sandbox's own ceiling: POST /projects/:id/time-entries per second (rate limiting
// off), so the other benches can show the sandbox is not their bottleneck. Each request carries
// an Idempotency-Key and an externalRef, as the sync worker sends them. The sandbox runs in a
// worker thread, so its work does not share the client's event loop; the bench drives it through
// its HTTP control API.
import { Worker } from 'node:worker_threads'
import { Pool } from 'undici'
import { callsPerSecond, formatNumber, median, type Bench, type BenchResult } from '../bench.js'

const CONCURRENCY = [1, 10, 50] as const
const REPEATS = 5
const TRIAL_MS = 1_000
const WARMUP_MS = 400
/** The sync worker's ceiling is one key's 600 requests/min; the sandbox should exceed it by far. */
const TARGET_PER_S = 1_000

// Runs in a worker thread (CommonJS eval): imports the built sandbox by URL and starts it.
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads')
import(workerData.moduleUrl).then(async ({ startAlignSandbox }) => {
  const sandbox = await startAlignSandbox({ port: 0, rateLimitPerMinute: null })
  parentPort.postMessage(sandbox.url)
  parentPort.on('message', async (m) => { if (m === 'close') { await sandbox.close(); process.exit(0) } })
})
`

async function startSandboxWorker(): Promise<{ url: string; close(): Promise<void> }> {
  const worker = new Worker(workerSource, { eval: true, workerData: { moduleUrl: import.meta.resolve('@illumera/align-sandbox') } })
  const url = await new Promise<string>((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
  })
  return {
    url,
    async close() {
      const exited = new Promise((resolve) => worker.once('exit', resolve))
      worker.postMessage('close')
      await exited
    },
  }
}


export const sandboxThroughput: Bench = {
  name: 'sandbox-throughput',
  title: 'Align sandbox throughput (POST time entries)',
  async run(): Promise<BenchResult> {
    const sandbox = await startSandboxWorker()
    const pool = new Pool(sandbox.url, { connections: 64, keepAliveTimeout: 10_000 })
    const rows: Array<{ concurrency: number; median: number; all: number[] }> = []
    let sequence = 0
    try {
      /** A fresh organization, project and member, so every trial starts from the same state. */
      const freshTarget = async () => {
        await (await pool.request({ path: '/_sandbox/reset', method: 'POST' })).body.dump()
        const org = await pool.request({ path: '/_sandbox/orgs', method: 'POST' })
        const { apiKey } = (await org.body.json()) as { apiKey: string }
        const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }
        const post = async (path: string, body: unknown) => {
          const res = await pool.request({ path: `/api/v1${path}`, method: 'POST', headers, body: JSON.stringify(body) })
          const json = (await res.body.json()) as Record<string, string>
          if (res.statusCode >= 300) throw new Error(`set-up ${path} failed: ${res.statusCode}`)
          return json
        }
        const project = await post('/projects', { name: 'Bench' })
        const user = await post('/users/invite', { email: 'bench@example.com', name: 'Bench', role: 'developer' })
        await post(`/projects/${project.id}/members/${user.userId}`, {})
        return { path: `/api/v1/projects/${project.id}/time-entries`, userId: user.userId!, headers }
      }
      const callFor = (target: Awaited<ReturnType<typeof freshTarget>>) => async () => {
        const n = sequence++
        const res = await pool.request({
          path: target.path,
          method: 'POST',
          headers: { ...target.headers, 'idempotency-key': `bench-${n}` },
          body: JSON.stringify({
            userId: target.userId,
            workDate: '2025-01-15',
            minutes: 150,
            description: 'Implemented authentication module',
            billable: true,
            externalRef: { provider: 'illumera', externalType: 'time_entry', externalId: `bench-${n}` },
          }),
        })
        await res.body.dump()
        if (res.statusCode !== 201) throw new Error(`POST time-entries answered ${res.statusCode}`)
      }

      for (const concurrency of CONCURRENCY) {
        await callsPerSecond(callFor(await freshTarget()), concurrency, WARMUP_MS)
        const all: number[] = []
        for (let repeat = 0; repeat < REPEATS; repeat++) all.push(await callsPerSecond(callFor(await freshTarget()), concurrency, TRIAL_MS))
        rows.push({ concurrency, median: median(all), all })
      }
    } finally {
      await pool.close()
      await sandbox.close()
    }

    const ceiling = Math.max(...rows.map((r) => r.median))
    const targetsMet = rows.every((r) => r.median >= TARGET_PER_S)
    const figures: Record<string, number> = { ceiling_requests_per_s: Math.round(ceiling) }
    for (const r of rows) figures[`c${r.concurrency}_requests_per_s`] = Math.round(r.median)
    const markdown = [
      'The sandbox (`startAlignSandbox({ port: 0, rateLimitPerMinute: null })`, logging off, in a worker',
      'thread of the bench process) answering `POST /api/v1/projects/:id/time-entries`, each with an `Idempotency-Key`',
      'and an `externalRef` (so every request also stores an idempotency record and an integration',
      'link), from an undici `Pool` of 64 connections on the main thread. Each concurrency level: a',
      `${WARMUP_MS} ms warm-up, then ${REPEATS} trials of ${TRIAL_MS} ms, each after \`POST /_sandbox/reset\` and a`,
      'fresh organization, project and member; figures are medians of completed 201s per second.',
      '',
      '| concurrency | requests/s (median) | target |',
      '|---:|---:|---|',
      ...rows.map((r) => `| ${r.concurrency} | ${formatNumber(r.median, 0)} | ≥ ${formatNumber(TARGET_PER_S, 0)} ${r.median >= TARGET_PER_S ? 'met' : '**missed**'} |`),
      '',
      `Ceiling: about ${formatNumber(ceiling, 0)} requests/s, against Align's real limit of 600 requests per`,
      'minute per key (10/s): the sandbox is not the bottleneck of a bench that respects that limit.',
      '',
      'All trials (requests/s):',
      '',
      ...rows.map((r) => `- c=${r.concurrency}: ${r.all.map((v) => formatNumber(v, 0)).join(', ')}`),
    ].join('\n')
    return { markdown, figures, targetsMet }
  },
}
