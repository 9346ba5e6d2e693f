// Keys: organization keys reach everything; project keys only /me and /projects/:scopedProjectId/*;
// missing, unknown or revoked keys are 401.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AlignSandbox } from '../src/index.js'
import { call, entryBody, seedOrg, startSandbox } from './helpers/http.js'

let sb: AlignSandbox
let org: Awaited<ReturnType<typeof seedOrg>>
let scoped: string
let otherProjectId: string

beforeAll(async () => {
  sb = await startSandbox()
  org = await seedOrg(sb, 'auth')
  otherProjectId = (await call(sb, 'POST', '/projects', { key: org.apiKey, body: { name: 'Other' } })).body.id
  ;({ apiKey: scoped } = await sb.control.createKey(org.organizationId, { scope: 'project', projectId: org.projectId }))
})
afterAll(() => sb.close())

describe('401', () => {
  it('missing, malformed, unknown and revoked keys', async () => {
    expect((await call(sb, 'GET', '/me')).body.error.code).toBe('unauthorized')
    expect((await call(sb, 'GET', '/me', { headers: { authorization: 'Basic abc' } })).status).toBe(401)
    expect((await call(sb, 'GET', '/me', { key: 'align_sk_nope' })).status).toBe(401)
    const { apiKey } = await sb.control.createKey(org.organizationId, { scope: 'organization' })
    expect((await call(sb, 'GET', '/me', { key: apiKey })).status).toBe(200)
    await sb.control.revokeKey(apiKey)
    const revoked = await call(sb, 'GET', '/me', { key: apiKey })
    expect(revoked.status).toBe(401)
    expect(revoked.body.error.message).toMatch(/unknown or revoked/)
    expect(JSON.stringify(revoked.body)).not.toContain(apiKey)
  })

  it('checks the key before the body: an unauthenticated bad body is 401, not 400', async () => {
    expect((await call(sb, 'POST', '/projects', { key: 'nope', body: {} })).status).toBe(401)
  })
})

describe('project-scoped keys', () => {
  it('GET /me shows the scope', async () => {
    const me = await call(sb, 'GET', '/me', { key: scoped })
    expect(me.body).toMatchObject({ scope: 'project', scopedProjectId: org.projectId, organizationId: org.organizationId })
    expect(me.body.permissions).not.toContain('write:webhook')
  })

  it('reach /projects/:scopedProjectId/*', async () => {
    expect((await call(sb, 'POST', `/projects/${org.projectId}/time-entries`, { key: scoped, body: entryBody(org.userId, 30) })).status).toBe(201)
    expect((await call(sb, 'GET', `/projects/${org.projectId}/time-summary`, { key: scoped })).status).toBe(200)
    expect((await call(sb, 'GET', `/projects/${org.projectId}/cost-summary`, { key: scoped })).status).toBe(200)
    expect((await call(sb, 'POST', `/projects/${org.projectId}/wiki-pages`, { key: scoped, body: { title: 't', content: 'c' } })).status).toBe(201)
  })

  it.each([
    ['POST', '/projects', { name: 'x' }],
    ['GET', '/projects/OTHER/time-summary', undefined],
    ['POST', '/users/invite', { email: 'a@b.c', name: 'a', role: 'developer' }],
    ['GET', '/users/USER', undefined],
    ['POST', '/webhooks', { destinationUrl: 'http://127.0.0.1:1/x', eventNames: ['time.logged'] }],
    ['GET', '/integration-links', undefined],
    ['POST', '/time-entries/x/submit', undefined],
  ])('403 elsewhere: %s %s', async (method, path, body) => {
    const resolved = path.replace('OTHER', otherProjectId).replace('USER', org.userId)
    const res = await call(sb, method, resolved, { key: scoped, body })
    expect(res.status).toBe(403)
    expect(res.body.error.code).toBe('forbidden')
  })

  it('a project-scoped key needs an existing projectId of the organization', async () => {
    await expect(sb.control.createKey(org.organizationId, { scope: 'project' })).rejects.toMatchObject({ statusCode: 400, field: 'projectId' })
    await expect(sb.control.createKey(org.organizationId, { scope: 'project', projectId: 'nope' })).rejects.toMatchObject({ statusCode: 404 })
    await expect(sb.control.createKey('nope', { scope: 'organization' })).rejects.toMatchObject({ statusCode: 404 })
  })
})

describe('organizations are isolated', () => {
  it("one organization's key sees none of another's entities", async () => {
    const other = await sb.control.createOrg()
    expect((await call(sb, 'PATCH', `/projects/${org.projectId}`, { key: other.apiKey, body: { name: 'stolen' } })).status).toBe(404)
    expect((await call(sb, 'GET', `/projects/${org.projectId}/time-summary`, { key: other.apiKey })).status).toBe(404)
    expect((await call(sb, 'GET', '/integration-links', { key: other.apiKey })).body.total).toBe(0)
  })
})
