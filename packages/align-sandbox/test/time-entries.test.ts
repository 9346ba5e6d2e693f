// Time entries through the API and the control API: the state machine, summaries and costs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AlignSandbox } from '../src/index.js'
import { call, entryBody, seedOrg, startSandbox } from './helpers/http.js'

let sb: AlignSandbox
let key: string
let organizationId: string
let projectId: string
let userId: string

beforeAll(async () => {
  sb = await startSandbox()
  ;({ apiKey: key, organizationId, projectId, userId } = await seedOrg(sb, 'te'))
})
afterAll(() => sb.close())

async function create(minutes = 150, externalId?: string) {
  const res = await call(sb, 'POST', `/projects/${projectId}/time-entries`, { key, body: entryBody(userId, minutes, externalId) })
  expect(res.status).toBe(201)
  return res.body
}

describe('POST /projects/:id/time-entries', () => {
  it('creates a draft with hours as a decimal string and the externalRef', async () => {
    const entry = await create(150, 'te-1')
    expect(entry).toMatchObject({
      organizationId,
      projectId,
      userId,
      workDate: '2025-01-15',
      hours: '2.5',
      minutes: 150,
      description: 'Implemented authentication module',
      billable: true,
      status: 'draft',
      rejectionReason: null,
      externalRef: { provider: 'illumera', externalType: 'time_entry', externalId: 'te-1' },
    })
  })

  it.each([
    [60, '1.0'],
    [20, '0.33'],
    [45, '0.75'],
    [10, '0.17'],
    [1440, '24.0'],
  ])('%i minutes → hours %s', async (minutes, hours) => {
    expect((await create(minutes)).hours).toBe(hours)
  })

  it('400 names the field: missing userId, bad workDate, minutes out of range, unknown field', async () => {
    for (const [body, field] of [
      [{ workDate: '2025-01-15', minutes: 10 }, 'userId'],
      [{ userId, workDate: '15/01/2025', minutes: 10 }, 'workDate'],
      [{ userId, workDate: '2025-02-30', minutes: 10 }, 'workDate'],
      [{ userId, workDate: '2025-01-15', minutes: 0 }, 'minutes'],
      [{ userId, workDate: '2025-01-15', minutes: 1.5 }, 'minutes'],
      [{ userId, workDate: '2025-01-15', minutes: 10, hours: 1 }, 'hours'],
    ] as const) {
      const res = await call(sb, 'POST', `/projects/${projectId}/time-entries`, { key, body })
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect(res.body.error).toMatchObject({ code: 'validation_error', field })
    }
  })

  it('422 user_not_member for a user outside the project; 404 for an unknown project; 409 on an archived project', async () => {
    const outsider = (await call(sb, 'POST', '/users/invite', { key, body: { email: 'out@example.com', name: 'Out', role: 'developer' } })).body.userId
    const res = await call(sb, 'POST', `/projects/${projectId}/time-entries`, { key, body: entryBody(outsider) })
    expect(res.status).toBe(422)
    expect(res.body.error).toMatchObject({ code: 'user_not_member', field: 'userId' })
    expect((await call(sb, 'POST', `/projects/${projectId}/time-entries`, { key, body: entryBody('ghost') })).body.error.code).toBe('user_not_member')
    expect((await call(sb, 'POST', '/projects/nope/time-entries', { key, body: entryBody(userId) })).status).toBe(404)

    await call(sb, 'PATCH', `/projects/${projectId}`, { key, body: { status: 'archived' } })
    const archived = await call(sb, 'POST', `/projects/${projectId}/time-entries`, { key, body: entryBody(userId) })
    expect(archived.status).toBe(409)
    expect(archived.body.error.code).toBe('invalid_state')
    await call(sb, 'PATCH', `/projects/${projectId}`, { key, body: { status: 'active' } })
  })
})

describe('the time entry state machine', () => {
  it('PATCH changes a draft; submit moves it to submitted; a second submit and a PATCH then are 409', async () => {
    const entry = await create(150)
    const patched = await call(sb, 'PATCH', `/time-entries/${entry.id}`, { key, body: { minutes: 90, description: 'Revised estimate' } })
    expect(patched.status).toBe(200)
    expect(patched.body).toMatchObject({ minutes: 90, hours: '1.5', description: 'Revised estimate', status: 'draft' })
    const submitted = await call(sb, 'POST', `/time-entries/${entry.id}/submit`, { key })
    expect(submitted.status).toBe(200)
    expect(submitted.body.status).toBe('submitted')
    const again = await call(sb, 'POST', `/time-entries/${entry.id}/submit`, { key })
    expect(again.status).toBe(409)
    expect(again.body.error).toMatchObject({ code: 'invalid_state', message: expect.stringContaining('submitted') })
    expect((await call(sb, 'PATCH', `/time-entries/${entry.id}`, { key, body: { minutes: 30 } })).status).toBe(409)
  })

  it('approve → lock → invoice through control; unlock works on approved and locked only; nothing moves an invoiced entry', async () => {
    const entry = await create(60)
    await call(sb, 'POST', `/time-entries/${entry.id}/submit`, { key })
    expect((await sb.control.approve(entry.id)).status).toBe('approved')
    expect((await call(sb, 'POST', `/time-entries/${entry.id}/unlock`, { key })).body.status).toBe('draft')
    await call(sb, 'POST', `/time-entries/${entry.id}/submit`, { key })
    await sb.control.approve(entry.id)
    expect((await sb.control.lock(entry.id)).status).toBe('locked')
    expect((await sb.control.unlock(entry.id)).status).toBe('draft')
    await call(sb, 'POST', `/time-entries/${entry.id}/submit`, { key })
    await sb.control.approve(entry.id)
    await sb.control.lock(entry.id)
    expect((await sb.control.invoice(entry.id)).status).toBe('invoiced')
    const unlock = await call(sb, 'POST', `/time-entries/${entry.id}/unlock`, { key })
    expect(unlock.status).toBe(409)
    await expect(sb.control.approve(entry.id)).rejects.toMatchObject({ statusCode: 409, code: 'invalid_state' })
    await expect(sb.control.delete(entry.id)).rejects.toMatchObject({ statusCode: 409 })
    expect((await call(sb, 'DELETE', `/time-entries/${entry.id}`, { key })).status).toBe(409)
    await expect(sb.control.lock('nope')).rejects.toMatchObject({ statusCode: 404, code: 'not_found' })
  })

  it('a rejected entry carries the reason, and a PATCH returns it to draft', async () => {
    const entry = await create(30)
    await call(sb, 'POST', `/time-entries/${entry.id}/submit`, { key })
    const rejected = await sb.control.reject(entry.id, 'Wrong project code')
    expect(rejected).toMatchObject({ status: 'rejected', rejectionReason: 'Wrong project code' })
    await expect(sb.control.reject(entry.id, 'again')).rejects.toMatchObject({ statusCode: 409 })
    await expect(sb.control.reject(entry.id, '')).rejects.toMatchObject({ statusCode: 400, field: 'reason' })
    const fixed = await call(sb, 'PATCH', `/time-entries/${entry.id}`, { key, body: { description: 'Right code' } })
    expect(fixed.body).toMatchObject({ status: 'draft', rejectionReason: null, description: 'Right code' })
  })

  it('DELETE removes a draft or submitted entry (204), then 404; approved entries are 409', async () => {
    const draft = await create(15)
    expect((await call(sb, 'DELETE', `/time-entries/${draft.id}`, { key })).status).toBe(204)
    expect((await call(sb, 'DELETE', `/time-entries/${draft.id}`, { key })).status).toBe(404)
    const submitted = await create(15)
    await call(sb, 'POST', `/time-entries/${submitted.id}/submit`, { key })
    expect((await call(sb, 'DELETE', `/time-entries/${submitted.id}`, { key })).status).toBe(204)
    const approved = await create(15)
    await call(sb, 'POST', `/time-entries/${approved.id}/submit`, { key })
    await sb.control.approve(approved.id)
    expect((await call(sb, 'DELETE', `/time-entries/${approved.id}`, { key })).body.error.code).toBe('invalid_state')
    // A manager in Align may still delete it.
    expect((await sb.control.delete(approved.id)).status).toBe('approved')
    expect((await sb.control.state(organizationId)).timeEntries.some((e) => e.id === approved.id)).toBe(false)
  })

  it('404 for unknown entries on every route', async () => {
    expect((await call(sb, 'PATCH', '/time-entries/nope', { key, body: { minutes: 5 } })).status).toBe(404)
    expect((await call(sb, 'POST', '/time-entries/nope/submit', { key })).status).toBe(404)
    expect((await call(sb, 'POST', '/time-entries/nope/unlock', { key })).status).toBe(404)
    expect((await call(sb, 'DELETE', '/time-entries/nope', { key })).status).toBe(404)
  })
})

describe('summaries', () => {
  it('time-summary and cost-summary add up a fresh project exactly', async () => {
    const seeded = await seedOrg(sb, 'sum')
    const k = seeded.apiKey
    const p = seeded.projectId
    const second = (await call(sb, 'POST', '/users/invite', { key: k, body: { email: 'two@example.com', name: 'Two', role: 'developer' } })).body.userId
    await call(sb, 'POST', `/projects/${p}/members/${second}`, { key: k, body: {} })
    await sb.control.setMemberRate(p, seeded.userId, 10_000) // $100/h
    await sb.control.setMemberRate(p, second, 3_333) // $33.33/h
    await sb.control.setPlannedCost(p, 5_000_000)

    const post = async (user: string, minutes: number, billable = true) =>
      (await call(sb, 'POST', `/projects/${p}/time-entries`, { key: k, body: { ...entryBody(user, minutes), billable } })).body
    const a = await post(seeded.userId, 60) // approved: $100.00
    const b = await post(second, 20) // approved: 20 × 3333 / 60 = 1111 cents
    const c = await post(second, 10, false) // submitted: 555.5 cents
    await post(seeded.userId, 30) // draft: $50.00
    const d = await post(seeded.userId, 45) // deleted
    for (const e of [a, b, c]) await call(sb, 'POST', `/time-entries/${e.id}/submit`, { key: k })
    await sb.control.approve(a.id)
    await sb.control.approve(b.id)
    await call(sb, 'DELETE', `/time-entries/${d.id}`, { key: k })

    const all = await call(sb, 'GET', `/projects/${p}/time-summary`, { key: k })
    expect(all.status).toBe(200)
    expect(all.body).toEqual({
      projectId: p,
      totalMinutes: 120,
      totalHours: '2.0',
      billableMinutes: 110,
      byStatus: { draft: 30, submitted: 10, approved: 80, rejected: 0, locked: 0, invoiced: 0 },
      byUser: [
        { userId: seeded.userId, totalMinutes: 90 },
        { userId: second, totalMinutes: 30 },
      ].sort((x, y) => (x.userId < y.userId ? -1 : 1)),
    })
    const approved = await call(sb, 'GET', `/projects/${p}/time-summary?status=approved`, { key: k })
    expect(approved.body).toMatchObject({ totalMinutes: 80, totalHours: '1.33', billableMinutes: 80, byStatus: { approved: 80, draft: 0 } })
    const bad = await call(sb, 'GET', `/projects/${p}/time-summary?status=paid`, { key: k })
    expect(bad.status).toBe(400)
    expect(bad.body.error.field).toBe('status')

    const cost = await call(sb, 'GET', `/projects/${p}/cost-summary`, { key: k })
    // actual = (60×10000 + 20×3333 + 10×3333 + 30×10000) / 60 = 1_000_000 / 60 + … summed exactly, rounded once.
    const actualCents = Math.round((60 * 10_000 + 20 * 3_333 + 10 * 3_333 + 30 * 10_000) / 60)
    expect(cost.body).toEqual({
      projectId: p,
      currency: 'USD',
      plannedCost: '50000.00',
      actualCost: `${Math.floor(actualCents / 100)}.${String(actualCents % 100).padStart(2, '0')}`,
      approvedCost: '111.11',
      pendingCost: '5.56',
    })
    expect((await call(sb, 'GET', '/projects/nope/cost-summary', { key: k })).status).toBe(404)
    expect((await call(sb, 'GET', `/projects/${projectId}/time-summary`, { key: k })).status).toBe(404)
  })
})

describe('entries made in Align (control)', () => {
  it('logTimeEntry creates an entry without externalRef; editTimeEntry changes any status', async () => {
    const logged = await sb.control.logTimeEntry(organizationId, { projectId, userId, workDate: '2025-02-01', minutes: 120 })
    expect(logged).toMatchObject({ projectId, userId, minutes: 120, hours: '2.0', status: 'draft', externalRef: null, billable: true })
    await call(sb, 'POST', `/time-entries/${logged.id}/submit`, { key })
    await sb.control.approve(logged.id)
    const edited = await sb.control.editTimeEntry(logged.id, { minutes: 100 })
    expect(edited).toMatchObject({ status: 'approved', minutes: 100, hours: '1.67' })
    await expect(sb.control.logTimeEntry(organizationId, { projectId, userId, workDate: 'x', minutes: 5 })).rejects.toMatchObject({ statusCode: 400, field: 'workDate' })
    await expect(sb.control.editTimeEntry(logged.id, { minutes: -1 })).rejects.toMatchObject({ statusCode: 400, field: 'minutes' })
  })
})
