// The control API over HTTP (/_sandbox/*), the same methods in process, reset, state and /healthz.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AlignSandbox } from '../src/index.js'
import { call, startSandbox } from './helpers/http.js'

let sb: AlignSandbox

beforeAll(async () => {
  sb = await startSandbox()
})
afterAll(() => sb.close())

describe('control routes', () => {
  it('drive a whole flow over HTTP', async () => {
    expect((await call(sb, 'GET', '/healthz')).status).toBe(200)
    const created = await call(sb, 'POST', '/_sandbox/orgs')
    expect(created.status).toBe(201)
    const { organizationId, apiKey } = created.body
    expect(apiKey).toMatch(/^align_sk_/)
    const projectId = (await call(sb, 'POST', '/projects', { key: apiKey, body: { name: 'P' } })).body.id
    const userId = (await call(sb, 'POST', '/users/invite', { key: apiKey, body: { email: 'c@example.com', name: 'C', role: 'developer' } })).body.userId
    await call(sb, 'POST', `/projects/${projectId}/members/${userId}`, { key: apiKey, body: {} })

    const scoped = await call(sb, 'POST', `/_sandbox/orgs/${organizationId}/keys`, { body: { scope: 'project', projectId } })
    expect(scoped.status).toBe(201)
    expect((await call(sb, 'GET', '/me', { key: scoped.body.apiKey })).body.scope).toBe('project')
    expect((await call(sb, 'DELETE', `/_sandbox/keys/${scoped.body.apiKey}`)).status).toBe(204)
    expect((await call(sb, 'GET', '/me', { key: scoped.body.apiKey })).status).toBe(401)
    expect((await call(sb, 'DELETE', '/_sandbox/keys/unknown')).status).toBe(404)
    expect((await call(sb, 'POST', `/_sandbox/orgs/${organizationId}/keys`, { body: { scope: 'team' } })).body.error.field).toBe('scope')

    const logged = await call(sb, 'POST', `/_sandbox/orgs/${organizationId}/time-entries`, { body: { projectId, userId, workDate: '2025-01-15', minutes: 60 } })
    expect(logged.status).toBe(201)
    expect(logged.body).toMatchObject({ status: 'draft', externalRef: null })
    const id = logged.body.id
    expect((await call(sb, 'POST', `/_sandbox/time-entries/${id}/approve`)).status).toBe(409)
    await call(sb, 'POST', `/time-entries/${id}/submit`, { key: apiKey })
    expect((await call(sb, 'POST', `/_sandbox/time-entries/${id}/reject`, { body: {} })).body.error.field).toBe('reason')
    expect((await call(sb, 'POST', `/_sandbox/time-entries/${id}/reject`, { body: { reason: 'no' } })).body).toMatchObject({ status: 'rejected', rejectionReason: 'no' })
    await call(sb, 'PATCH', `/time-entries/${id}`, { key: apiKey, body: { minutes: 50 } })
    await call(sb, 'POST', `/time-entries/${id}/submit`, { key: apiKey })
    for (const [action, status] of [
      ['approve', 'approved'],
      ['lock', 'locked'],
      ['unlock', 'draft'],
    ]) {
      const res = await call(sb, 'POST', `/_sandbox/time-entries/${id}/${action}`)
      expect(res.status, action).toBe(200)
      expect(res.body.status).toBe(status)
    }
    await call(sb, 'POST', `/time-entries/${id}/submit`, { key: apiKey })
    await call(sb, 'POST', `/_sandbox/time-entries/${id}/approve`)
    expect((await call(sb, 'POST', `/_sandbox/time-entries/${id}/invoice`)).body.status).toBe('invoiced')
    expect((await call(sb, 'PATCH', `/_sandbox/time-entries/${id}`, { body: { minutes: 55 } })).body).toMatchObject({ minutes: 55, status: 'invoiced' })
    expect((await call(sb, 'POST', `/_sandbox/time-entries/${id}/delete`)).status).toBe(409)
    expect((await call(sb, 'POST', '/_sandbox/time-entries/nope/approve')).status).toBe(404)

    const rate = await call(sb, 'PUT', `/_sandbox/projects/${projectId}/members/${userId}/rate`, { body: { hourlyRateCents: 12_000 } })
    expect(rate.body).toMatchObject({ projectId, userId, hourlyRateCents: 12_000 })
    expect((await call(sb, 'PUT', `/_sandbox/projects/${projectId}/members/${userId}/rate`, { body: { hourlyRateCents: -1 } })).body.error.field).toBe('hourlyRateCents')
    expect((await call(sb, 'PUT', `/_sandbox/projects/${projectId}/members/nobody/rate`, { body: { hourlyRateCents: 1 } })).status).toBe(404)
    expect((await call(sb, 'PUT', `/_sandbox/projects/${projectId}/planned-cost`, { body: { plannedCostCents: 100 } })).status).toBe(200)
    expect((await call(sb, 'GET', `/projects/${projectId}/cost-summary`, { key: apiKey })).body).toMatchObject({ plannedCost: '1.00', approvedCost: '110.00' })

    const other = (await call(sb, 'POST', '/users/invite', { key: apiKey, body: { email: 'd@example.com', name: 'D', role: 'developer' } })).body.userId
    expect((await call(sb, 'POST', `/_sandbox/users/${other}/activate`)).body.status).toBe('active')
    expect((await call(sb, 'POST', `/_sandbox/users/${other}/activate`)).status).toBe(409)

    const state = await call(sb, 'GET', `/_sandbox/orgs/${organizationId}/state`)
    expect(state.status).toBe(200)
    expect(Object.keys(state.body).sort()).toEqual(['apiKeys', 'integrationLinks', 'invoices', 'members', 'name', 'organizationId', 'projects', 'timeEntries', 'users', 'webhooks', 'wikiPages'])
    expect(state.body.timeEntries).toHaveLength(1)
    expect(state.body.members[0]).toMatchObject({ userId, hourlyRateCents: 12_000 })
    expect(state.body.apiKeys).toHaveLength(2)
    expect(JSON.stringify(state.body)).not.toContain(apiKey)
    expect((await call(sb, 'GET', '/_sandbox/orgs/nope/state')).status).toBe(404)
  })

  it('reset forgets every organization, key and fault', async () => {
    const { organizationId, apiKey } = await sb.control.createOrg({ name: 'Doomed' })
    await sb.control.setFaults({ latencyMs: 1 })
    expect((await call(sb, 'POST', '/_sandbox/reset')).status).toBe(204)
    expect((await call(sb, 'GET', '/me', { key: apiKey })).status).toBe(401)
    await expect(sb.control.state(organizationId)).rejects.toMatchObject({ statusCode: 404 })
    expect((await sb.control.faults()).latencyMs).toBe(0)
  })

  it('unknown routes answer a JSON 404', async () => {
    const res = await call(sb, 'GET', '/_sandbox/nothing')
    expect(res.status).toBe(404)
    expect(res.body.error.code).toBe('not_found')
    const { apiKey } = await sb.control.createOrg()
    expect((await call(sb, 'GET', '/projects', { key: apiKey })).status).toBe(404)
  })

  it('closes cleanly while a request sleeps in injected latency', async () => {
    const other = await startSandbox()
    const { apiKey } = await other.control.createOrg()
    await other.control.setFaults({ latencyMs: 5_000 })
    const pending = call(other, 'GET', '/me', { key: apiKey }).catch((err: unknown) => err)
    await new Promise((resolve) => setTimeout(resolve, 50))
    const started = performance.now()
    await other.close()
    expect(performance.now() - started).toBeLessThan(2_000)
    await pending
  })
})
