// GET /me, POST /users/invite, POST /users/bulk-invite, GET and PATCH /users/:id.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AlignSandbox } from '../src/index.js'
import { call, startSandbox } from './helpers/http.js'

let sb: AlignSandbox
let key: string
let organizationId: string

beforeAll(async () => {
  sb = await startSandbox()
  ;({ apiKey: key, organizationId } = await sb.control.createOrg())
})
afterAll(() => sb.close())

const ref = (externalId: string) => ({ provider: 'illumera', externalType: 'user', externalId })

describe('GET /me', () => {
  it('describes an organization-scoped key', async () => {
    const res = await call(sb, 'GET', '/me', { key })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    expect(res.body).toMatchObject({ organizationId, scope: 'organization', scopedProjectId: null })
    expect(res.body.permissions).toContain('write:entry')
    expect(typeof res.body.apiKeyId).toBe('string')
    expect(typeof res.body.createdByUserId).toBe('string')
    expect(Date.parse(res.body.lastUsedAt)).not.toBeNaN()
  })
})

describe('POST /users/invite', () => {
  it('creates an invited user (201), then returns the same user for the same email (200)', async () => {
    const body = { email: 'Alice@Example.com', name: 'Alice Smith', role: 'developer', sendInvite: false, externalRef: ref('u-1') }
    const first = await call(sb, 'POST', '/users/invite', { key, body })
    expect(first.status).toBe(201)
    expect(first.body).toMatchObject({ created: true, status: 'invited' })
    const again = await call(sb, 'POST', '/users/invite', { key, body: { ...body, email: 'alice@example.com' } })
    expect(again.status).toBe(200)
    expect(again.body).toMatchObject({ created: false, userId: first.body.userId, status: 'invited' })
    const state = await sb.control.state(organizationId)
    expect(state.users.filter((u) => u.email === 'alice@example.com')).toHaveLength(1)
  })

  it.each([
    [{ name: 'x', role: 'developer' }, 'email'],
    [{ email: 'not-an-email', name: 'x', role: 'developer' }, 'email'],
    [{ email: 'a@b.c', role: 'developer' }, 'name'],
    [{ email: 'a@b.c', name: 'x', role: 'developer', surname: 'y' }, 'surname'],
    [{ email: 'a@b.c', name: 'x', role: 'developer', externalRef: { provider: 'illumera', externalType: 'nope', externalId: '1' } }, 'externalRef.externalType'],
  ])('400 names the bad field (%j → %s) and creates nothing', async (body, field) => {
    const before = (await sb.control.state(organizationId)).users.length
    const res = await call(sb, 'POST', '/users/invite', { key, body })
    expect(res.status).toBe(400)
    expect(res.body.error).toMatchObject({ code: 'validation_error', field })
    expect(res.body.error.message).toContain(field.split('.')[0])
    expect(res.body.requestId).toBe(res.headers.get('x-request-id'))
    expect((await sb.control.state(organizationId)).users.length).toBe(before)
  })

  it('400 for a body that is not JSON', async () => {
    const res = await call(sb, 'POST', '/users/invite', { key, body: '{nope' })
    expect(res.status).toBe(400)
    expect(res.body.error).toMatchObject({ code: 'validation_error', field: 'body' })
  })
})

describe('POST /users/bulk-invite', () => {
  it('answers one result per invite in order; a bad invite fails alone', async () => {
    const res = await call(sb, 'POST', '/users/bulk-invite', {
      key,
      body: {
        invites: [
          { email: 'bob@example.com', name: 'Bob', role: 'developer', externalRef: ref('u-bob') },
          { email: 'broken', name: 'Broken', role: 'developer' },
          { email: 'alice@example.com', name: 'Alice', role: 'developer' },
        ],
        sendInvite: false,
      },
    })
    expect(res.status).toBe(200)
    expect(res.body.successCount).toBe(2)
    expect(res.body.failureCount).toBe(1)
    expect(res.body.results.map((r: { email: string }) => r.email)).toEqual(['bob@example.com', 'broken', 'alice@example.com'])
    expect(res.body.results[0]).toMatchObject({ created: true, status: 'invited', userId: expect.any(String), inviteId: expect.any(String) })
    expect(res.body.results[1].error).toMatchObject({ code: 'validation_error', message: expect.stringContaining('email') })
    expect(res.body.results[2]).toMatchObject({ created: false })
  })

  it('refuses more than 50 invites with too_many_invites and creates none', async () => {
    const invites = Array.from({ length: 51 }, (_, i) => ({ email: `many-${i}@example.com`, name: `n${i}`, role: 'developer' }))
    const res = await call(sb, 'POST', '/users/bulk-invite', { key, body: { invites } })
    expect(res.status).toBe(400)
    expect(res.body.error).toMatchObject({ code: 'too_many_invites', field: 'invites' })
    expect((await sb.control.state(organizationId)).users.some((u) => u.email === 'many-0@example.com')).toBe(false)
  })

  it('accepts exactly 50, and 400 on an empty list', async () => {
    const invites = Array.from({ length: 50 }, (_, i) => ({ email: `fifty-${i}@example.com`, name: `n${i}`, role: 'developer' }))
    expect((await call(sb, 'POST', '/users/bulk-invite', { key, body: { invites } })).body.successCount).toBe(50)
    const empty = await call(sb, 'POST', '/users/bulk-invite', { key, body: { invites: [] } })
    expect(empty.status).toBe(400)
    expect(empty.body.error.field).toBe('invites')
  })
})

describe('GET and PATCH /users/:id', () => {
  it('reads and updates a user; emails stay unique', async () => {
    const { userId } = (await call(sb, 'POST', '/users/invite', { key, body: { email: 'carol@example.com', name: 'Carol', role: 'developer', externalRef: ref('u-carol') } })).body
    const got = await call(sb, 'GET', `/users/${userId}`, { key })
    expect(got.status).toBe(200)
    expect(got.body).toMatchObject({ id: userId, organizationId, email: 'carol@example.com', name: 'Carol', role: 'developer', status: 'invited', externalRef: ref('u-carol') })

    const patched = await call(sb, 'PATCH', `/users/${userId}`, { key, body: { name: 'Carol Jones', email: 'carol.new@example.com' } })
    expect(patched.status).toBe(200)
    expect(patched.body).toMatchObject({ id: userId, name: 'Carol Jones', email: 'carol.new@example.com' })
    expect((await call(sb, 'GET', `/users/${userId}`, { key })).body.name).toBe('Carol Jones')

    const taken = await call(sb, 'PATCH', `/users/${userId}`, { key, body: { email: 'bob@example.com' } })
    expect(taken.status).toBe(400)
    expect(taken.body.error).toMatchObject({ code: 'validation_error', field: 'email' })
    const empty = await call(sb, 'PATCH', `/users/${userId}`, { key, body: {} })
    expect(empty.status).toBe(400)
  })

  it('404 for an unknown user and for a user of another organization', async () => {
    expect((await call(sb, 'GET', '/users/nope', { key })).body.error.code).toBe('not_found')
    const other = await sb.control.createOrg()
    const { userId } = (await call(sb, 'POST', '/users/invite', { key: other.apiKey, body: { email: 'x@example.com', name: 'X', role: 'developer' } })).body
    expect((await call(sb, 'GET', `/users/${userId}`, { key })).status).toBe(404)
    expect((await call(sb, 'PATCH', `/users/${userId}`, { key, body: { name: 'Y' } })).status).toBe(404)
  })
})
