// What the gateway costs on top of undici: createTimeEntry calls/s (stringify, request, read,
// JSON.parse, validate, rate-limit headers, retry wrapper) versus a bare Pool.request that
// sends a precomputed body and JSON-parses the reply, against one local HTTP server.
// The server runs in a worker thread so its work does not share the client's event loop.
import { Worker } from 'node:worker_threads'
import { AlignGateway, closeAlignPools, type AlignCreateTimeEntryInput } from '@illumera/align-gateway'
import { Pool } from 'undici'
import { callsPerSecond, formatNumber, median, type Bench, type BenchResult } from '../bench.js'

const CONCURRENCY = [1, 10, 50] as const
const REPEATS = 7
const TRIAL_MS = 700
const WARMUP_MS = 400
const TARGET_RATIO = 0.8
const API_KEY = 'align_bench_key_not_a_secret'

const timeEntry = {
  id: '3fa85f64-5717-4562-b3fc-2c963f66afa6',
  organizationId: '7b1e2c3d-0000-0000-0000-000000000001',
  projectId: '9a8b7c6d-0000-0000-0000-000000000002',
  userId: '3fa85f64-5717-4562-b3fc-2c963f66afa7',
  workDate: '2025-01-15',
  hours: '2.5',
  minutes: 150,
  description: 'Implemented authentication module',
  billable: true,
  status: 'draft',
  rejectionReason: null,
  externalRef: { provider: 'illumera', externalType: 'time_entry', externalId: 'c0ffee00-0000-4000-8000-000000000001' },
  createdAt: '2025-01-15T12:00:00Z',
  updatedAt: '2025-01-15T12:00:00Z',
}

const input: AlignCreateTimeEntryInput = {
  userId: timeEntry.userId,
  workDate: timeEntry.workDate,
  minutes: timeEntry.minutes,
  description: timeEntry.description,
  billable: true,
  externalRef: { externalType: 'time_entry', externalId: timeEntry.externalRef.externalId },
}

// Runs in a worker thread (CommonJS eval): answers POST /api/v1/projects/:id/time-entries with
// a fixed TimeEntry and rate-limit headers, after draining the request body.
const serverSource = `
const http = require('node:http')
const { parentPort, workerData } = require('node:worker_threads')
const body = Buffer.from(workerData.body)
const headers = {
  'content-type': 'application/json',
  'content-length': String(body.length),
  'x-request-id': '00000000-0000-4000-8000-000000000000',
  'x-ratelimit-limit': '600',
  'x-ratelimit-remaining': '599',
  'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 60),
}
const route = /^\\/api\\/v1\\/projects\\/[^/]+\\/time-entries$/
const server = http.createServer({ keepAliveTimeout: 30000 }, (req, res) => {
  req.resume()
  req.on('end', () => {
    if (req.method !== 'POST' || !route.test(req.url)) { res.writeHead(404).end(); return }
    res.writeHead(201, headers).end(body)
  })
})
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port))
parentPort.on('message', (m) => { if (m === 'close') { server.closeAllConnections(); server.close(() => process.exit(0)) } })
`

async function startServer(): Promise<{ origin: string; close(): Promise<void> }> {
  const worker = new Worker(serverSource, { eval: true, workerData: { body: JSON.stringify(timeEntry) } })
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
  })
  return {
    origin: `http://127.0.0.1:${port}`,
    async close() {
      const exited = new Promise((resolve) => worker.once('exit', resolve))
      worker.postMessage('close')
      await exited
    },
  }
}


type Call = () => Promise<unknown>

export const gatewayOverhead: Bench = {
  name: 'gateway-overhead',
  title: 'Align gateway overhead versus bare undici',
  async run(): Promise<BenchResult> {
    const server = await startServer()
    const pool = new Pool(server.origin, { keepAliveTimeout: 10_000 })
    const gateway = new AlignGateway({ apiKey: API_KEY, baseUrl: `${server.origin}/api/v1` })
    const path = `/api/v1/projects/${timeEntry.projectId}/time-entries`
    const requestBody = JSON.stringify({ ...input, externalRef: { provider: 'illumera', ...input.externalRef } })
    const bareHeaders = { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${API_KEY}` }

    const bare: Call = async () => {
      const { statusCode, body } = await pool.request({ path, method: 'POST', headers: bareHeaders, body: requestBody })
      const json = (await body.json()) as { id?: string }
      if (statusCode !== 201 || !json.id) throw new Error(`bare call failed: ${statusCode}`)
    }
    let sequence = 0
    const viaGateway: Call = async () => {
      const entry = await gateway.createTimeEntry(timeEntry.projectId, input, { idempotencyKey: `bench-${sequence++}` })
      if (!entry.id) throw new Error('gateway call returned no id')
    }

    const rows: Array<{ concurrency: number; bare: number; gateway: number; ratio: number; bareAll: number[]; gatewayAll: number[] }> = []
    try {
      for (const concurrency of CONCURRENCY) {
        await callsPerSecond(bare, concurrency, WARMUP_MS)
        await callsPerSecond(viaGateway, concurrency, WARMUP_MS)
        const bareAll: number[] = []
        const gatewayAll: number[] = []
        for (let repeat = 0; repeat < REPEATS; repeat++) {
          // Alternate which goes first, so drift in the machine's load hits both alike.
          if (repeat % 2 === 0) {
            bareAll.push(await callsPerSecond(bare, concurrency, TRIAL_MS))
            gatewayAll.push(await callsPerSecond(viaGateway, concurrency, TRIAL_MS))
          } else {
            gatewayAll.push(await callsPerSecond(viaGateway, concurrency, TRIAL_MS))
            bareAll.push(await callsPerSecond(bare, concurrency, TRIAL_MS))
          }
        }
        const b = median(bareAll)
        const g = median(gatewayAll)
        rows.push({ concurrency, bare: b, gateway: g, ratio: g / b, bareAll, gatewayAll })
      }
    } finally {
      await pool.close()
      await closeAlignPools()
      await server.close()
    }

    const targetsMet = rows.every((r) => r.ratio >= TARGET_RATIO)
    const figures: Record<string, number> = {}
    for (const r of rows) {
      figures[`c${r.concurrency}_bare_calls_per_s`] = Math.round(r.bare)
      figures[`c${r.concurrency}_gateway_calls_per_s`] = Math.round(r.gateway)
      figures[`c${r.concurrency}_ratio`] = Number(r.ratio.toFixed(3))
    }
    const markdown = [
      '`AlignGateway.createTimeEntry` (body built and JSON-stringified per call, Idempotency-Key,',
      'response read, JSON-parsed and validated against the TimeEntry schema, rate-limit headers,',
      'retry wrapper, per-attempt timeout) versus a bare undici `Pool.request` that sends the same',
      'body precomputed and `JSON.parse`s the response. Both go to one local `node:http` server',
      '(in a worker thread) that answers with a fixed 201 TimeEntry and `X-RateLimit-*` headers.',
      `Each concurrency level: a ${WARMUP_MS} ms warm-up of each, then ${REPEATS} repeats of ${TRIAL_MS} ms per`,
      'side, alternating which side goes first; figures are medians of completed calls per second.',
      '',
      '| concurrency | bare undici (calls/s) | gateway (calls/s) | gateway / bare | target |',
      '|---:|---:|---:|---:|---|',
      ...rows.map(
        (r) =>
          `| ${r.concurrency} | ${formatNumber(r.bare, 0)} | ${formatNumber(r.gateway, 0)} | ${r.ratio.toFixed(2)}× | ≥ ${TARGET_RATIO}× ${r.ratio >= TARGET_RATIO ? 'met' : '**missed**'} |`,
      ),
      '',
      'All repeats (calls/s), bare / gateway:',
      '',
      ...rows.map(
        (r) =>
          `- c=${r.concurrency}: ${r.bareAll.map((v) => formatNumber(v, 0)).join(', ')} / ${r.gatewayAll.map((v) => formatNumber(v, 0)).join(', ')}`,
      ),
    ].join('\n')
    return { markdown, figures, targetsMet }
  },
}
