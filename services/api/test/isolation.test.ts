// The tenant-isolation matrix: every route × { own tenant, another tenant, no token, wrong role }.
// Another tenant's id is a 404 that shows none of that tenant's data and changes none of its rows.
import type { Database } from '@illumera/db-schema'
import { createAlignConnection, createEngagement, createProject, createTimeEntry, useTestDatabase } from '@illumera/test-harness'
import type { Kysely } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Role } from '../src/auth/verify-token.js'
import { createTestApp, type Principal, snapshotRows, type TestApp } from './helpers/app.js'
import { seedCompany } from './helpers/seed.js'

const t = useTestDatabase()
let h: TestApp

type Fixture = Awaited<ReturnType<typeof seedFixture>>

async function seedFixture(db: Kysely<Database>) {
  const s = await seedCompany(db)
  const draftProject = await createProject(db, s.owner, { name: `secret-draft-${s.company.id}` })
  const offered = await createEngagement(db, s.project, s.person.id)
  const draftEntry = await createTimeEntry(db, s.engagement, { notes: 'secret notes' })
  const approvedEntry = await createTimeEntry(db, s.engagement, { status: 'approved' })
  await createAlignConnection(db, s.owner)
  return { ...s, draftProject, offered, draftEntry, approvedEntry }
}

interface Case {
  name: string
  roles: Role[]
  request(f: Fixture): { method: 'GET' | 'POST' | 'PATCH' | 'DELETE'; url: string; payload?: object }
  /** How another tenant's request shows isolation: a 404, or a 2xx that lists/creates only its own data. */
  other: 404 | 'own-data-only'
  /** Whether the own-tenant request is exercised here (Align-calling routes are covered against the sandbox). */
  own?: boolean
}

const cases: Case[] = [
  { name: 'POST /api/projects', roles: ['company_admin'], request: () => ({ method: 'POST', url: '/api/projects', payload: { name: 'New' } }), other: 'own-data-only' },
  { name: 'GET /api/projects', roles: ['company_admin', 'talent'], request: () => ({ method: 'GET', url: '/api/projects' }), other: 'own-data-only' },
  { name: 'GET /api/projects/:id', roles: ['company_admin', 'talent'], request: (f) => ({ method: 'GET', url: `/api/projects/${f.draftProject.id}` }), other: 404 },
  { name: 'PATCH /api/projects/:id', roles: ['company_admin'], request: (f) => ({ method: 'PATCH', url: `/api/projects/${f.draftProject.id}`, payload: { name: 'Renamed' } }), other: 404 },
  { name: 'POST /api/projects/:id/activate', roles: ['company_admin'], request: (f) => ({ method: 'POST', url: `/api/projects/${f.draftProject.id}/activate` }), other: 404 },
  { name: 'POST /api/projects/:id/slots', roles: ['company_admin'], request: (f) => ({ method: 'POST', url: `/api/projects/${f.draftProject.id}/slots`, payload: { roleTitle: 'Dev', openings: 2 } }), other: 404 },
  { name: 'POST /api/users', roles: ['company_admin'], request: (f) => ({ method: 'POST', url: '/api/users', payload: { email: `new-${f.company.id}@example.com`, name: 'New' } }), other: 'own-data-only' },
  { name: 'PATCH /api/users/:id', roles: ['company_admin', 'talent'], request: (f) => ({ method: 'PATCH', url: `/api/users/${f.user.id}`, payload: { name: 'Renamed' } }), other: 404 },
  { name: 'POST /api/engagements', roles: ['company_admin'], request: (f) => ({ method: 'POST', url: '/api/engagements', payload: { projectId: f.project.id, userId: f.user.id, hourlyRateCents: 100 } }), other: 404 },
  { name: 'POST /api/engagements/:id/accept', roles: ['talent', 'company_admin'], request: (f) => ({ method: 'POST', url: `/api/engagements/${f.offered.id}/accept` }), other: 404 },
  { name: 'POST /api/engagements/:id/end', roles: ['company_admin'], request: (f) => ({ method: 'POST', url: `/api/engagements/${f.engagement.id}/end` }), other: 404 },
  { name: 'POST /api/time-entries', roles: ['talent', 'company_admin'], request: (f) => ({ method: 'POST', url: '/api/time-entries', payload: { engagementId: f.engagement.id, workDate: '2026-11-03', minutes: 60 } }), other: 404 },
  { name: 'GET /api/time-entries', roles: ['talent', 'company_admin'], request: () => ({ method: 'GET', url: '/api/time-entries' }), other: 'own-data-only' },
  { name: 'PATCH /api/time-entries/:id', roles: ['talent', 'company_admin'], request: (f) => ({ method: 'PATCH', url: `/api/time-entries/${f.draftEntry.id}`, payload: { minutes: 45 } }), other: 404 },
  { name: 'DELETE /api/time-entries/:id', roles: ['talent', 'company_admin'], request: (f) => ({ method: 'DELETE', url: `/api/time-entries/${f.draftEntry.id}` }), other: 404 },
  { name: 'POST /api/time-entries/:id/submit', roles: ['talent', 'company_admin'], request: (f) => ({ method: 'POST', url: `/api/time-entries/${f.draftEntry.id}/submit` }), other: 404 },
  { name: 'POST /api/time-entries/:id/unlock', roles: ['company_admin'], request: (f) => ({ method: 'POST', url: `/api/time-entries/${f.approvedEntry.id}/unlock` }), other: 404 },
  { name: 'POST /api/invoices', roles: ['company_admin'], request: (f) => ({ method: 'POST', url: '/api/invoices', payload: { engagementId: f.engagement.id, amountCents: 1000 } }), other: 404 },
  { name: 'GET /api/align/connections', roles: ['company_admin'], request: () => ({ method: 'GET', url: '/api/align/connections' }), other: 404 },
  { name: 'POST /api/align/connections', roles: ['company_admin'], request: (f) => ({ method: 'POST', url: '/api/align/connections', payload: { companyId: f.company.id, apiKey: 'align_key_not_real' } }), other: 404, own: false },
  { name: 'PATCH /api/align/connections', roles: ['company_admin'], request: () => ({ method: 'PATCH', url: '/api/align/connections', payload: { resubscribe: true } }), other: 404, own: false },
  { name: 'DELETE /api/align/connections', roles: ['company_admin'], request: () => ({ method: 'DELETE', url: '/api/align/connections' }), other: 404, own: false },
  { name: 'POST /api/align/connections/backfill', roles: ['company_admin'], request: () => ({ method: 'POST', url: '/api/align/connections/backfill' }), other: 'own-data-only' },
]

// Platform admin routes are platform-wide by design (no tenant dimension): own / no token / wrong role.
const adminCases: Case[] = [
  { name: 'POST /api/admin/align/sync/retry-failed', roles: ['platform_admin'], request: () => ({ method: 'POST', url: '/api/admin/align/sync/retry-failed', payload: {} }), other: 'own-data-only' },
  { name: 'GET /api/admin/align/outbox', roles: ['platform_admin'], request: () => ({ method: 'GET', url: '/api/admin/align/outbox' }), other: 'own-data-only' },
  { name: 'GET /api/admin/align/deliveries', roles: ['platform_admin'], request: () => ({ method: 'GET', url: '/api/admin/align/deliveries' }), other: 'own-data-only' },
  { name: 'GET /api/admin/align/reconciliation', roles: ['platform_admin'], request: () => ({ method: 'GET', url: '/api/admin/align/reconciliation' }), other: 'own-data-only' },
  { name: 'GET /api/admin/align/connections', roles: ['platform_admin'], request: () => ({ method: 'GET', url: '/api/admin/align/connections' }), other: 'own-data-only' },
]

const ALL_ROLES: Role[] = ['talent', 'company_admin', 'platform_admin']

function principalFor(f: Pick<Fixture, 'talent' | 'admin' | 'platform'>, role: Role): Principal {
  if (role === 'talent') return f.talent
  if (role === 'company_admin') return f.admin
  return f.platform
}

beforeAll(async () => {
  h = await createTestApp(t.db)
})

describe.each([...cases, ...adminCases])('$name', (c) => {
  it('own tenant, allowed role: served', async () => {
    if (c.own === false) return
    const f = await seedFixture(t.db)
    const req = c.request(f)
    const res = await h.app.inject({ ...req, headers: await h.headers(principalFor(f, c.roles[0]!)) })
    expect(res.statusCode, res.body).toBeGreaterThanOrEqual(200)
    expect(res.statusCode, res.body).toBeLessThan(300)
  })

  it.skipIf(c.roles.includes('platform_admin'))('another tenant: 404 or only its own data, nothing of ours changed', async () => {
    const f = await seedFixture(t.db)
    const intruderCompany = await seedCompany(t.db)
    const intruder = principalFor(intruderCompany, c.roles[0]!)
    const before = await snapshotRows(t.db)
    const res = await h.app.inject({ ...c.request(f), headers: await h.headers(intruder) })
    for (const secret of [f.draftProject.name, f.project.name, f.user.email, 'secret notes', `"${f.draftEntry.id}"`]) {
      expect(res.body).not.toContain(secret)
    }
    if (c.other === 404) {
      expect(res.statusCode, res.body).toBe(404)
      expect(await snapshotRows(t.db)).toEqual(before)
    } else {
      expect(res.statusCode).toBeLessThan(500)
      // Whatever it did, it did to its own tenant: our rows are as they were.
      const after = await snapshotRows(t.db)
      for (const key of ['projects.updated', 'engagements.updated', 'time_entries.updated', 'users.updated', 'align_connections.updated']) {
        for (const row of before[key]!.split(',').filter(Boolean)) expect(after[key]).toContain(row)
      }
      const ourOutbox = await t.db.selectFrom('align_sync_outbox').select('id').where('tenant_id', '=', f.tenant.id).execute()
      expect(ourOutbox).toEqual([])
    }
  })

  it('no token: 401', async () => {
    const f = await seedFixture(t.db)
    const before = await snapshotRows(t.db)
    const res = await h.app.inject(c.request(f))
    expect(res.statusCode).toBe(401)
    expect(res.json()).toMatchObject({ statusCode: 401, error: 'Unauthorized' })
    expect(await snapshotRows(t.db)).toEqual(before)
  })

  it('wrong role: 403', async () => {
    const f = await seedFixture(t.db)
    const wrong = ALL_ROLES.find((r) => !c.roles.includes(r))!
    const before = await snapshotRows(t.db)
    const res = await h.app.inject({ ...c.request(f), headers: await h.headers(principalFor(f, wrong)) })
    expect(res.statusCode).toBe(403)
    expect(res.json().message).toContain(wrong)
    expect(await snapshotRows(t.db)).toEqual(before)
  })
})
