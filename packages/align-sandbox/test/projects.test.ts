// POST/PATCH /projects, POST/DELETE /projects/:id/members/:userId, wiki pages and integration links.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AlignSandbox } from '../src/index.js'
import { call, startSandbox } from './helpers/http.js'

let sb: AlignSandbox
let key: string
let organizationId: string
let projectId: string
let userId: string

beforeAll(async () => {
  sb = await startSandbox()
  ;({ apiKey: key, organizationId } = await sb.control.createOrg())
  userId = (await call(sb, 'POST', '/users/invite', { key, body: { email: 'dev@example.com', name: 'Dev', role: 'developer' } })).body.userId
})
afterAll(() => sb.close())

describe('projects', () => {
  it('POST /projects creates an active project carrying its externalRef', async () => {
    const res = await call(sb, 'POST', '/projects', {
      key,
      body: {
        name: 'Federal Data Platform Modernization',
        description: 'GSA data modernization program',
        timeBillingEnabled: true,
        externalRef: { provider: 'illumera', externalType: 'project', externalId: 'p-1' },
      },
    })
    expect(res.status).toBe(201)
    expect(res.body).toMatchObject({
      name: 'Federal Data Platform Modernization',
      description: 'GSA data modernization program',
      status: 'active',
      organizationId,
      clientId: null,
      timeBillingEnabled: true,
      externalRef: { provider: 'illumera', externalType: 'project', externalId: 'p-1' },
    })
    expect(res.body.createdAt).toBe(res.body.updatedAt)
    projectId = res.body.id
  })

  it('POST /projects without externalRef stores null and makes no integration link', async () => {
    const before = (await call(sb, 'GET', '/integration-links', { key })).body.total
    const res = await call(sb, 'POST', '/projects', { key, body: { name: 'Internal' } })
    expect(res.status).toBe(201)
    expect(res.body).toMatchObject({ externalRef: null, description: null, timeBillingEnabled: true })
    expect((await call(sb, 'GET', '/integration-links', { key })).body.total).toBe(before)
  })

  it('POST /projects: 400 names the field', async () => {
    for (const [body, field] of [
      [{}, 'name'],
      [{ name: '' }, 'name'],
      [{ name: 'x', timeBillingEnabled: 'yes' }, 'timeBillingEnabled'],
      [{ name: 'x', externalRef: { provider: 'illumera', externalType: 'project' } }, 'externalRef.externalId'],
    ] as const) {
      const res = await call(sb, 'POST', '/projects', { key, body })
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect(res.body.error).toMatchObject({ code: 'validation_error', field })
    }
  })

  it('PATCH /projects/:id changes only the given fields; 404 for unknown ids', async () => {
    const res = await call(sb, 'PATCH', `/projects/${projectId}`, { key, body: { name: 'FDP' } })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ id: projectId, name: 'FDP', description: 'GSA data modernization program' })
    const archived = await call(sb, 'PATCH', `/projects/${projectId}`, { key, body: { status: 'archived' } })
    expect(archived.body.status).toBe('archived')
    await call(sb, 'PATCH', `/projects/${projectId}`, { key, body: { status: 'active' } })
    expect((await call(sb, 'PATCH', `/projects/${projectId}`, { key, body: { status: 'closed' } })).body.error.field).toBe('status')
    expect((await call(sb, 'PATCH', '/projects/nope', { key, body: { name: 'x' } })).status).toBe(404)
  })
})

describe('project members', () => {
  it('adds a member (201), returns the existing one after (200), and removes it (204, then 404)', async () => {
    const body = { roleOverride: 'developer', externalRef: { provider: 'illumera', externalType: 'project_member', externalId: 'eng-1' } }
    const first = await call(sb, 'POST', `/projects/${projectId}/members/${userId}`, { key, body })
    expect(first.status).toBe(201)
    expect(first.body).toMatchObject({ projectId, userId, roleOverride: 'developer', metadata: null, externalRef: body.externalRef })
    const again = await call(sb, 'POST', `/projects/${projectId}/members/${userId}`, { key, body })
    expect(again.status).toBe(200)
    expect(again.body.id).toBe(first.body.id)
    const changed = await call(sb, 'POST', `/projects/${projectId}/members/${userId}`, { key, body: { roleOverride: 'tech_lead' } })
    expect(changed.body).toMatchObject({ id: first.body.id, roleOverride: 'tech_lead' })

    expect((await call(sb, 'DELETE', `/projects/${projectId}/members/${userId}`, { key })).status).toBe(204)
    const gone = await call(sb, 'DELETE', `/projects/${projectId}/members/${userId}`, { key })
    expect(gone.status).toBe(404)
    expect(gone.body.error.code).toBe('not_found')
  })

  it('accepts an empty body; 404 for an unknown project or user; 400 for a bad field', async () => {
    const res = await call(sb, 'POST', `/projects/${projectId}/members/${userId}`, { key })
    expect(res.status).toBe(201)
    expect(res.body).toMatchObject({ roleOverride: null, externalRef: null })
    expect((await call(sb, 'POST', `/projects/nope/members/${userId}`, { key, body: {} })).status).toBe(404)
    expect((await call(sb, 'POST', `/projects/${projectId}/members/nope`, { key, body: {} })).status).toBe(404)
    const bad = await call(sb, 'POST', `/projects/${projectId}/members/${userId}`, { key, body: { roleOverride: 5 } })
    expect(bad.status).toBe(400)
    expect(bad.body.error.field).toBe('roleOverride')
  })
})

describe('wiki pages', () => {
  it('creates and patches a page; 404 and 400 as expected', async () => {
    const externalRef = { provider: 'illumera', externalType: 'wiki_page', externalId: 'p-1' }
    const created = await call(sb, 'POST', `/projects/${projectId}/wiki-pages`, { key, body: { title: 'Illumera Staffing Plan', content: '# Plan', externalRef } })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ projectId, title: 'Illumera Staffing Plan', content: '# Plan', externalRef })
    const patched = await call(sb, 'PATCH', `/wiki-pages/${created.body.id}`, { key, body: { content: '# Plan v2' } })
    expect(patched.status).toBe(200)
    expect(patched.body).toMatchObject({ id: created.body.id, title: 'Illumera Staffing Plan', content: '# Plan v2' })
    expect((await call(sb, 'PATCH', '/wiki-pages/nope', { key, body: { title: 'x' } })).status).toBe(404)
    expect((await call(sb, 'POST', '/projects/nope/wiki-pages', { key, body: { title: 'x', content: '' } })).status).toBe(404)
    const bad = await call(sb, 'POST', `/projects/${projectId}/wiki-pages`, { key, body: { content: 'no title' } })
    expect(bad.body.error).toMatchObject({ code: 'validation_error', field: 'title' })
  })
})

describe('GET /integration-links', () => {
  it('lists every entity created with an externalRef, in creation order, with filters', async () => {
    const res = await call(sb, 'GET', '/integration-links', { key })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ page: 1, pageSize: 100 })
    const types = res.body.data.map((l: { entityType: string }) => l.entityType)
    // The member eng-1 was removed, so its link went with it.
    expect(types).toEqual(['project', 'wiki_page'])
    expect(res.body.total).toBe(2)
    expect(res.body.data[0]).toMatchObject({ entityId: projectId, externalId: 'p-1', externalRef: { provider: 'illumera', externalType: 'project', externalId: 'p-1' } })

    const byRef = await call(sb, 'GET', '/integration-links?externalType=wiki_page&externalId=p-1', { key })
    expect(byRef.body.total).toBe(1)
    expect(byRef.body.data[0].entityType).toBe('wiki_page')
    expect((await call(sb, 'GET', '/integration-links?externalId=p-1', { key })).body.total).toBe(2)
    expect((await call(sb, 'GET', '/integration-links?externalType=user', { key })).body.total).toBe(0)
  })

  it('pages with page and pageSize, and refuses sizes above 100', async () => {
    const second = await call(sb, 'GET', '/integration-links?page=2&pageSize=1', { key })
    expect(second.body).toMatchObject({ total: 2, page: 2, pageSize: 1 })
    expect(second.body.data).toHaveLength(1)
    expect(second.body.data[0].entityType).toBe('wiki_page')
    expect((await call(sb, 'GET', '/integration-links?page=3&pageSize=1', { key })).body.data).toEqual([])
    for (const query of ['pageSize=101', 'pageSize=0', 'page=0', 'page=abc']) {
      const res = await call(sb, 'GET', `/integration-links?${query}`, { key })
      expect(res.status, query).toBe(400)
      expect(res.body.error.field).toBe(query.split('=')[0])
    }
  })
})
