// Each fault: latency, errorRate + status, failNextRequests, commit-then-drop, duplicate and
// reordered webhook deliveries; rates 0 and 1 are exact and a seed replays a run.
import { request as httpRequest } from 'node:http'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createRandom } from '../src/faults.js'
import type { AlignSandbox } from '../src/index.js'
import { call, entryBody, seedOrg, startReceiver, startSandbox } from './helpers/http.js'

let sb: AlignSandbox
let org: Awaited<ReturnType<typeof seedOrg>>

beforeAll(async () => {
  sb = await startSandbox({ rateLimitPerMinute: null, webhookRetryDelaysMs: [10] })
  org = await seedOrg(sb, 'faults')
})
afterEach(() => sb.control.clearFaults())
afterAll(() => sb.close())

const entryCount = async () => (await sb.control.state(org.organizationId)).timeEntries.length

/** A raw POST that reports whether the server answered or dropped the connection. */
function rawPost(path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number } | { dropped: string }> {
  const url = new URL(`${sb.apiBaseUrl}${path}`)
  const payload = JSON.stringify(body)
  return new Promise((resolve) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent: false, headers: { 'content-type': 'application/json', authorization: `Bearer ${org.apiKey}`, ...headers } },
      (res) => {
        res.resume()
        res.on('end', () => resolve({ status: res.statusCode! }))
      },
    )
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ dropped: err.code ?? err.message }))
    req.end(payload)
  })
}

describe('request faults', () => {
  it('latencyMs delays every answer by at least that long', async () => {
    await sb.control.setFaults({ latencyMs: 150 })
    const started = performance.now()
    expect((await call(sb, 'GET', '/me', { key: org.apiKey })).status).toBe(200)
    expect(performance.now() - started).toBeGreaterThanOrEqual(140)
  })

  it('failNextRequests fails exactly that many requests with the given status, then stops', async () => {
    await sb.control.setFaults({ failNextRequests: 2, status: 503 })
    const statuses = []
    for (let i = 0; i < 3; i++) statuses.push((await call(sb, 'GET', '/me', { key: org.apiKey })).status)
    expect(statuses).toEqual([503, 503, 200])
    expect((await sb.control.faults()).failNextRequests).toBe(0)
  })

  it('an injected failure creates nothing and answers internal_error JSON', async () => {
    const before = await entryCount()
    await sb.control.setFaults({ failNextRequests: 1 })
    const res = await call(sb, 'POST', `/projects/${org.projectId}/time-entries`, { key: org.apiKey, body: entryBody(org.userId) })
    expect(res.status).toBe(500)
    expect(res.body.error.code).toBe('internal_error')
    expect(await entryCount()).toBe(before)
  })

  it('errorRate 1 fails every request, 0 none; a fractional rate with a seed is reproducible', async () => {
    await sb.control.setFaults({ errorRate: 1, status: 502 })
    for (let i = 0; i < 5; i++) expect((await call(sb, 'GET', '/me', { key: org.apiKey })).status).toBe(502)
    await sb.control.setFaults({ errorRate: 0 })
    for (let i = 0; i < 5; i++) expect((await call(sb, 'GET', '/me', { key: org.apiKey })).status).toBe(200)

    const run = async () => {
      await sb.control.setFaults({ errorRate: 0.5, status: 500, seed: 42 })
      const statuses: number[] = []
      for (let i = 0; i < 30; i++) statuses.push((await call(sb, 'GET', '/me', { key: org.apiKey })).status)
      return statuses
    }
    const first = await run()
    expect(await run()).toEqual(first)
    expect(first.filter((s) => s === 500).length).toBeGreaterThan(5)
    expect(first.filter((s) => s === 200).length).toBeGreaterThan(5)
  })

  it('dropAfterCommitRate 1: the write is persisted, the connection destroyed; a retry with the key replays it', async () => {
    const before = await entryCount()
    await sb.control.setFaults({ dropAfterCommitRate: 1 })
    const headers = { 'idempotency-key': 'te-dropped' }
    const body = entryBody(org.userId, 75, 'te-dropped')
    const dropped = await rawPost(`/projects/${org.projectId}/time-entries`, body, headers)
    expect(dropped).toHaveProperty('dropped')
    expect(await entryCount()).toBe(before + 1)
    // Reads are never dropped.
    expect((await call(sb, 'GET', '/me', { key: org.apiKey })).status).toBe(200)
    await sb.control.clearFaults()
    const retry = await call(sb, 'POST', `/projects/${org.projectId}/time-entries`, { key: org.apiKey, body, headers })
    expect(retry.status).toBe(201)
    expect(retry.headers.get('idempotent-replayed')).toBe('true')
    expect(await entryCount()).toBe(before + 1)
    const state = await sb.control.state(org.organizationId)
    expect(state.timeEntries.filter((e) => e.externalRef?.externalId === 'te-dropped')).toHaveLength(1)
  })

  it('without an Idempotency-Key a retry after a drop duplicates, as it would against Align', async () => {
    const before = await entryCount()
    await sb.control.setFaults({ dropAfterCommitRate: 1 })
    expect(await rawPost(`/projects/${org.projectId}/time-entries`, entryBody(org.userId, 5))).toHaveProperty('dropped')
    await sb.control.clearFaults()
    expect((await rawPost(`/projects/${org.projectId}/time-entries`, entryBody(org.userId, 5))) as { status: number }).toEqual({ status: 201 })
    expect(await entryCount()).toBe(before + 2)
  })

  it('setFaults merges, validates each field by name, and clearFaults resets', async () => {
    await sb.control.setFaults({ latencyMs: 5 })
    expect(await sb.control.setFaults({ errorRate: 0 })).toMatchObject({ latencyMs: 5, errorRate: 0 })
    await expect(sb.control.setFaults({ errorRate: 2 })).rejects.toMatchObject({ statusCode: 400, field: 'errorRate' })
    await expect(sb.control.setFaults({ status: 404 })).rejects.toMatchObject({ field: 'status' })
    await expect(sb.control.setFaults({ latencyMs: -1 })).rejects.toMatchObject({ field: 'latencyMs' })
    await expect(sb.control.setFaults({ bogus: 1 } as never)).rejects.toMatchObject({ field: 'bogus' })
    const http = await call(sb, 'POST', '/_sandbox/faults', { body: { dropAfterCommitRate: 'often' } })
    expect(http.status).toBe(400)
    expect(http.body.error.field).toBe('dropAfterCommitRate')
    expect((await call(sb, 'POST', '/_sandbox/faults', { body: { latencyMs: 7 } })).body.latencyMs).toBe(7)
    expect((await call(sb, 'GET', '/_sandbox/faults')).body.latencyMs).toBe(7)
    expect((await call(sb, 'DELETE', '/_sandbox/faults')).status).toBe(204)
    expect(await sb.control.faults()).toMatchObject({ latencyMs: 0, errorRate: 0, failNextRequests: 0, rateLimitPerMinute: null })
  })
})

describe('webhook faults', () => {
  it('duplicateDeliveryRate 1 sends every delivery twice with the same delivery id', async () => {
    const seeded = await seedOrg(sb, 'dup')
    const r = await startReceiver()
    try {
      await call(sb, 'POST', '/webhooks', { key: seeded.apiKey, body: { destinationUrl: r.url, eventNames: ['time.logged'] } })
      await sb.control.setFaults({ duplicateDeliveryRate: 1 })
      await sb.control.logTimeEntry(seeded.organizationId, { projectId: seeded.projectId, userId: seeded.userId, workDate: '2025-01-01', minutes: 5 })
      await sb.control.logTimeEntry(seeded.organizationId, { projectId: seeded.projectId, userId: seeded.userId, workDate: '2025-01-02', minutes: 5 })
      await sb.control.settled()
      expect(r.received).toHaveLength(4)
      expect(r.received[0]!.deliveryId).toBe(r.received[1]!.deliveryId)
      expect(r.received[2]!.deliveryId).toBe(r.received[3]!.deliveryId)
      expect(r.received[0]!.deliveryId).not.toBe(r.received[2]!.deliveryId)
      const deliveries = await sb.control.deliveries(seeded.organizationId)
      expect(deliveries[0]!.attempts.map((a) => a.duplicate)).toEqual([false, true])
    } finally {
      await r.close()
    }
  })

  it('reorderDeliveries sends events queued together newest first; without it, in order', async () => {
    const seeded = await seedOrg(sb, 'reorder')
    const r = await startReceiver()
    try {
      await call(sb, 'POST', '/webhooks', { key: seeded.apiKey, body: { destinationUrl: r.url, eventNames: ['time.submitted', 'time.approved', 'time.locked', 'time.invoiced'] } })
      const entry = (await call(sb, 'POST', `/projects/${seeded.projectId}/time-entries`, { key: seeded.apiKey, body: entryBody(seeded.userId, 5) })).body
      await sb.control.setFaults({ reorderDeliveries: true })
      await call(sb, 'POST', `/time-entries/${entry.id}/submit`, { key: seeded.apiKey })
      await sb.control.approve(entry.id)
      await sb.control.lock(entry.id)
      await sb.control.invoice(entry.id)
      await sb.control.settled()
      expect(r.received.map((h) => h.event)).toEqual(['time.invoiced', 'time.locked', 'time.approved', 'time.submitted'])

      await sb.control.clearFaults()
      r.received.length = 0
      const second = (await call(sb, 'POST', `/projects/${seeded.projectId}/time-entries`, { key: seeded.apiKey, body: entryBody(seeded.userId, 5) })).body
      await call(sb, 'POST', `/time-entries/${second.id}/submit`, { key: seeded.apiKey })
      await sb.control.approve(second.id)
      await sb.control.lock(second.id)
      await sb.control.settled()
      expect(r.received.map((h) => h.event)).toEqual(['time.submitted', 'time.approved', 'time.locked'])
    } finally {
      await r.close()
    }
  })
})

describe('createRandom', () => {
  it('is deterministic per seed and stays in [0, 1)', () => {
    const a = createRandom(7)
    const b = createRandom(7)
    const values = Array.from({ length: 1000 }, () => a())
    expect(values).toEqual(Array.from({ length: 1000 }, () => b()))
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true)
  })
})
