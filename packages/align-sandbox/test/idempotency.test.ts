// Idempotency-Key: replay with Idempotent-Replayed, 422 on a different body, 409 while in flight,
// nothing stored for a failed request, keys scoped per organization.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { AlignSandbox } from '../src/index.js'
import { canonicalJson } from '../src/idempotency.js'
import { call, entryBody, seedOrg, startSandbox } from './helpers/http.js'

let sb: AlignSandbox
let org: Awaited<ReturnType<typeof seedOrg>>

beforeAll(async () => {
  sb = await startSandbox()
  org = await seedOrg(sb, 'idem')
})
afterEach(() => sb.control.clearFaults())
afterAll(() => sb.close())

const entries = async () => (await sb.control.state(org.organizationId)).timeEntries.length

describe('Idempotency-Key', () => {
  it('the same key and body replays status and body without creating anything', async () => {
    const before = await entries()
    const headers = { 'idempotency-key': 'te-replay' }
    const first = await call(sb, 'POST', `/projects/${org.projectId}/time-entries`, { key: org.apiKey, body: entryBody(org.userId, 60, 'te-replay'), headers })
    expect(first.status).toBe(201)
    expect(first.headers.get('idempotent-replayed')).toBeNull()
    // Same body with its keys in another order is the same body.
    const { externalRef, ...rest } = entryBody(org.userId, 60, 'te-replay')
    const again = await call(sb, 'POST', `/projects/${org.projectId}/time-entries`, { key: org.apiKey, body: { externalRef, ...rest }, headers })
    expect(again.status).toBe(201)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(again.body).toEqual(first.body)
    expect(await entries()).toBe(before + 1)
  })

  it('replays a 200 PATCH and a 204 DELETE too', async () => {
    const entry = (await call(sb, 'POST', `/projects/${org.projectId}/time-entries`, { key: org.apiKey, body: entryBody(org.userId, 60) })).body
    const headers = { 'idempotency-key': `patch-${entry.id}` }
    const patch = await call(sb, 'PATCH', `/time-entries/${entry.id}`, { key: org.apiKey, body: { minutes: 30 }, headers })
    const replay = await call(sb, 'PATCH', `/time-entries/${entry.id}`, { key: org.apiKey, body: { minutes: 30 }, headers })
    expect(replay.headers.get('idempotent-replayed')).toBe('true')
    expect(replay.body).toEqual(patch.body)
    const del = { 'idempotency-key': `delete-${entry.id}` }
    expect((await call(sb, 'DELETE', `/time-entries/${entry.id}`, { key: org.apiKey, headers: del })).status).toBe(204)
    const delAgain = await call(sb, 'DELETE', `/time-entries/${entry.id}`, { key: org.apiKey, headers: del })
    expect(delAgain.status).toBe(204)
    expect(delAgain.headers.get('idempotent-replayed')).toBe('true')
  })

  it('the same key with a different body, or another path, is 422 idempotency_key_reused', async () => {
    const headers = { 'idempotency-key': 'te-mismatch' }
    await call(sb, 'POST', `/projects/${org.projectId}/time-entries`, { key: org.apiKey, body: entryBody(org.userId, 60), headers })
    const before = await entries()
    const other = await call(sb, 'POST', `/projects/${org.projectId}/time-entries`, { key: org.apiKey, body: entryBody(org.userId, 61), headers })
    expect(other.status).toBe(422)
    expect(other.body.error.code).toBe('idempotency_key_reused')
    const otherPath = await call(sb, 'POST', '/projects', { key: org.apiKey, body: { name: 'x' }, headers })
    expect(otherPath.status).toBe(422)
    expect(await entries()).toBe(before)
  })

  it('the same key while the first request is in flight is 409 idempotency_key_in_use', async () => {
    await sb.control.setFaults({ latencyMs: 300 })
    const headers = { 'idempotency-key': 'te-inflight' }
    const body = entryBody(org.userId, 60)
    const send = () => call(sb, 'POST', `/projects/${org.projectId}/time-entries`, { key: org.apiKey, body, headers })
    // Both arrive within the first's 300 ms of injected latency: one runs, the other is refused.
    const results = await Promise.all([send(), send()])
    expect(results.map((r) => r.status).sort()).toEqual([201, 409])
    const winner = results.find((r) => r.status === 201)!
    expect(results.find((r) => r.status === 409)!.body.error.code).toBe('idempotency_key_in_use')
    await sb.control.clearFaults()
    const replay = await call(sb, 'POST', `/projects/${org.projectId}/time-entries`, { key: org.apiKey, body, headers })
    expect(replay.headers.get('idempotent-replayed')).toBe('true')
    expect(replay.body.id).toBe(winner.body.id)
  })

  it('a failed request stores nothing: the retry runs for real', async () => {
    const headers = { 'idempotency-key': 'te-after-fix' }
    const outsider = (await call(sb, 'POST', '/users/invite', { key: org.apiKey, body: { email: 'late@example.com', name: 'Late', role: 'developer' } })).body.userId
    const failed = await call(sb, 'POST', `/projects/${org.projectId}/time-entries`, { key: org.apiKey, body: entryBody(outsider, 60), headers })
    expect(failed.status).toBe(422)
    await call(sb, 'POST', `/projects/${org.projectId}/members/${outsider}`, { key: org.apiKey, body: {} })
    const retried = await call(sb, 'POST', `/projects/${org.projectId}/time-entries`, { key: org.apiKey, body: entryBody(outsider, 60), headers })
    expect(retried.status).toBe(201)
    expect(retried.headers.get('idempotent-replayed')).toBeNull()

    await sb.control.setFaults({ failNextRequests: 1, status: 503 })
    const injected = await call(sb, 'POST', '/projects', { key: org.apiKey, body: { name: 'after 503' }, headers: { 'idempotency-key': 'p-503' } })
    expect(injected.status).toBe(503)
    const real = await call(sb, 'POST', '/projects', { key: org.apiKey, body: { name: 'after 503' }, headers: { 'idempotency-key': 'p-503' } })
    expect(real.status).toBe(201)
    expect(real.headers.get('idempotent-replayed')).toBeNull()
  })

  it('keys are scoped per organization', async () => {
    const other = await seedOrg(sb, 'idem-other')
    const headers = { 'idempotency-key': 'shared-key' }
    const a = await call(sb, 'POST', '/projects', { key: org.apiKey, body: { name: 'A' }, headers })
    const b = await call(sb, 'POST', '/projects', { key: other.apiKey, body: { name: 'A' }, headers })
    expect(b.status).toBe(201)
    expect(b.headers.get('idempotent-replayed')).toBeNull()
    expect(b.body.id).not.toBe(a.body.id)
  })

  it('canonicalJson ignores key order and undefined fields', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: undefined } })).toBe('{"a":{"d":[1,{"x":1,"y":2}]},"b":1}')
  })
})
