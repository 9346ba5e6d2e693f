// What a manager deletes in Align's UI (projects, users, wiki pages) and an integration link dropped while its
// entity stays, over the control routes: the entity and its link are gone from the API and the state.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AlignSandbox } from '../src/index.js'
import { call, startSandbox } from './helpers/http.js'

let sb: AlignSandbox

beforeAll(async () => {
  sb = await startSandbox()
})
afterAll(() => sb.close())

const ref = (externalType: string, externalId: string) => ({ provider: 'illumera', externalType, externalId })

async function links(apiKey: string, externalId: string) {
  return (await call(sb, 'GET', `/integration-links?externalId=${externalId}`, { key: apiKey })).body
}

describe('control deletions', () => {
  it('a project: refused while it holds a member, then deleted with its integration link', async () => {
    const { apiKey } = await sb.control.createOrg()
    const projectId = (await call(sb, 'POST', '/projects', { key: apiKey, body: { name: 'P', externalRef: ref('project', 'p-1') } })).body.id
    const userId = (await call(sb, 'POST', '/users/invite', { key: apiKey, body: { email: 'm@example.com', name: 'M', role: 'developer' } })).body.userId
    await call(sb, 'POST', `/projects/${projectId}/members/${userId}`, { key: apiKey, body: {} })
    const refused = await call(sb, 'POST', `/_sandbox/projects/${projectId}/delete`)
    expect(refused.status).toBe(409)
    expect(refused.body.error.message).toContain('members')

    expect((await call(sb, 'DELETE', `/projects/${projectId}/members/${userId}`, { key: apiKey })).status).toBe(204)
    const deleted = await call(sb, 'POST', `/_sandbox/projects/${projectId}/delete`)
    expect(deleted.status).toBe(200)
    expect(deleted.body).toMatchObject({ id: projectId, name: 'P' })
    expect((await call(sb, 'PATCH', `/projects/${projectId}`, { key: apiKey, body: { name: 'Q' } })).status).toBe(404)
    expect(await links(apiKey, 'p-1')).toMatchObject({ data: [], total: 0 })
    expect((await call(sb, 'POST', `/_sandbox/projects/${projectId}/delete`)).status).toBe(404)
  })

  it('a user: the admin, a member and a user with entries are refused; a free one goes with its link and its email is free again', async () => {
    const { organizationId, apiKey } = await sb.control.createOrg()
    const state = await sb.control.state(organizationId)
    expect((await call(sb, 'POST', `/_sandbox/users/${state.users[0]!.id}/delete`)).status).toBe(409)

    const projectId = (await call(sb, 'POST', '/projects', { key: apiKey, body: { name: 'P' } })).body.id
    const busy = (await call(sb, 'POST', '/users/invite', { key: apiKey, body: { email: 'busy@example.com', name: 'B', role: 'developer' } })).body.userId
    await call(sb, 'POST', `/projects/${projectId}/members/${busy}`, { key: apiKey, body: {} })
    expect((await call(sb, 'POST', `/_sandbox/users/${busy}/delete`)).body.error.message).toContain('member')
    await call(sb, 'POST', `/projects/${projectId}/time-entries`, { key: apiKey, body: { userId: busy, workDate: '2026-11-02', minutes: 30 } })
    await call(sb, 'DELETE', `/projects/${projectId}/members/${busy}`, { key: apiKey })
    expect((await call(sb, 'POST', `/_sandbox/users/${busy}/delete`)).body.error.message).toContain('time entries')

    const invited = await call(sb, 'POST', '/users/invite', { key: apiKey, body: { email: 'free@example.com', name: 'F', role: 'developer', externalRef: ref('user', 'u-1') } })
    const userId = invited.body.userId
    expect((await call(sb, 'POST', `/_sandbox/users/${userId}/delete`)).status).toBe(200)
    expect((await call(sb, 'GET', `/users/${userId}`, { key: apiKey })).status).toBe(404)
    expect(await links(apiKey, 'u-1')).toMatchObject({ total: 0 })
    const again = await call(sb, 'POST', '/users/invite', { key: apiKey, body: { email: 'free@example.com', name: 'F', role: 'developer' } })
    expect(again.body).toMatchObject({ created: true })
    expect(again.body.userId).not.toBe(userId)
    expect((await call(sb, 'POST', '/_sandbox/users/nobody/delete')).status).toBe(404)
  })

  it('a wiki page goes with its link', async () => {
    const { organizationId, apiKey } = await sb.control.createOrg()
    const projectId = (await call(sb, 'POST', '/projects', { key: apiKey, body: { name: 'P' } })).body.id
    const page = (await call(sb, 'POST', `/projects/${projectId}/wiki-pages`, { key: apiKey, body: { title: 'T', content: 'c', externalRef: ref('wiki_page', 'w-1') } })).body
    expect((await call(sb, 'POST', `/_sandbox/wiki-pages/${page.id}/delete`)).status).toBe(200)
    expect((await call(sb, 'PATCH', `/wiki-pages/${page.id}`, { key: apiKey, body: { title: 'U' } })).status).toBe(404)
    expect(await links(apiKey, 'w-1')).toMatchObject({ total: 0 })
    expect((await sb.control.state(organizationId)).wikiPages).toEqual([])
    // The project, now empty, can go too.
    expect((await call(sb, 'POST', `/_sandbox/projects/${projectId}/delete`)).status).toBe(200)
  })

  it('an integration link dropped: its entity stays (externalRef null) and answers as before', async () => {
    const { organizationId, apiKey } = await sb.control.createOrg()
    const projectId = (await call(sb, 'POST', '/projects', { key: apiKey, body: { name: 'P', externalRef: ref('project', 'p-2') } })).body.id
    const userId = (await call(sb, 'POST', '/users/invite', { key: apiKey, body: { email: 'x@example.com', name: 'X', role: 'developer' } })).body.userId
    await call(sb, 'POST', `/projects/${projectId}/members/${userId}`, { key: apiKey, body: { externalRef: ref('project_member', 'e-2') } })
    const [projectLink] = (await links(apiKey, 'p-2')).data
    const [memberLink] = (await links(apiKey, 'e-2')).data

    expect((await call(sb, 'DELETE', `/_sandbox/integration-links/${projectLink.id}`)).body).toMatchObject({ entityId: projectId, externalId: 'p-2' })
    expect((await call(sb, 'DELETE', `/_sandbox/integration-links/${memberLink.id}`)).status).toBe(200)

    expect(await links(apiKey, 'p-2')).toMatchObject({ total: 0 })
    expect(await links(apiKey, 'e-2')).toMatchObject({ total: 0 })
    const state = await sb.control.state(organizationId)
    expect(state.projects).toMatchObject([{ id: projectId, externalRef: null }])
    expect(state.members).toMatchObject([{ userId, externalRef: null }])
    expect((await call(sb, 'PATCH', `/projects/${projectId}`, { key: apiKey, body: { name: 'Q' } })).status).toBe(200)
    expect((await call(sb, 'DELETE', `/_sandbox/integration-links/${projectLink.id}`)).status).toBe(404)
  })
})
