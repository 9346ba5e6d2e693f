// Connection settings from Align's add-on page: sync direction and field mappings (GET/PATCH, validation,
// audit trail), the direction's effect on what the api enqueues, the initial sync and its progress, resync,
// and the Align key's age (status, admin dashboard, Prometheus).
import { type AlignSandbox, startAlignSandbox } from '@illumera/align-sandbox'
import { DEFAULT_FIELD_MAPPINGS } from '@illumera/db-schema'
import { createAlignConnection, createEngagement, createProject, createTalent, createTimeEntry, useTestDatabase } from '@illumera/test-harness'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, snapshotRows, type TestApp } from '../helpers/app.js'
import { outboxRows, seedCompany } from '../helpers/seed.js'

const t = useTestDatabase()
let sandbox: AlignSandbox
let h: TestApp
let clock = new Date('2026-11-23T10:00:00Z')
const DAY_MS = 24 * 60 * 60 * 1000

beforeAll(async () => {
  sandbox = await startAlignSandbox({ port: 0, rateLimitPerMinute: null })
  h = await createTestApp(t.db, { align: { baseUrl: sandbox.apiBaseUrl }, now: () => clock })
})

afterAll(async () => {
  await h?.app.close()
  await sandbox?.close()
})

type Seeded = Awaited<ReturnType<typeof seedCompany>>

async function settings(s: Seeded) {
  return h.app.inject({ method: 'GET', url: '/api/align/connections/settings', headers: await h.headers(s.admin) })
}
async function patchSettings(s: Seeded, payload: unknown) {
  return h.app.inject({ method: 'PATCH', url: '/api/align/connections/settings', headers: await h.headers(s.admin), payload: payload as object })
}
async function changes(s: Seeded) {
  return (await h.app.inject({ method: 'GET', url: '/api/align/connections/settings/changes', headers: await h.headers(s.admin) })).json()
}
async function auditRows() {
  return t.db.selectFrom('align_connection_settings_changes').selectAll().execute()
}

describe('GET / PATCH /api/align/connections/settings', () => {
  it('starts at the defaults (today\'s behaviour), applies a partial change, and records who changed what from → to', async () => {
    const s = await seedCompany(t.db, { connected: true })
    const initial = await settings(s)
    expect(initial.statusCode).toBe(200)
    expect(initial.json()).toMatchObject({
      connectionId: s.connection!.id, syncDirection: 'bidirectional', fieldMappings: DEFAULT_FIELD_MAPPINGS, settingsUpdatedAt: null,
      options: { syncDirections: ['illumera_to_align', 'align_to_illumera', 'bidirectional'], alignRoles: ['developer', 'tech_lead', 'devops_engineer', 'manager'] },
    })
    expect(initial.json().options.descriptionPlaceholders).toContain('{{projectName}}')

    clock = new Date('2026-11-23T12:00:00Z')
    const res = await patchSettings(s, {
      syncDirection: 'illumera_to_align',
      fieldMappings: { roles: { hiring_manager: 'tech_lead' }, timeEntryDescription: '{{notes}} ({{projectName}}, {{hours}} h)', billable: 'never', wikiPageTitle: 'Staffing' },
    })
    expect(res.statusCode, res.body).toBe(200)
    const expected = {
      syncDirection: 'illumera_to_align',
      fieldMappings: { roles: { talent: 'developer', hiring_manager: 'tech_lead' }, timeEntryDescription: '{{notes}} ({{projectName}}, {{hours}} h)', billable: 'never', wikiPageTitle: 'Staffing' },
      settingsUpdatedAt: '2026-11-23T12:00:00.000Z',
    }
    expect(res.json()).toMatchObject(expected)
    expect((await settings(s)).json()).toMatchObject(expected)

    // Only what changed is recorded, with the acting admin.
    const audit = await changes(s)
    expect(audit.data).toHaveLength(1)
    expect(audit.data[0]).toMatchObject({
      actorUserId: s.admin.userId,
      changes: {
        syncDirection: { from: 'bidirectional', to: 'illumera_to_align' },
        'fieldMappings.roles.hiring_manager': { from: 'manager', to: 'tech_lead' },
        'fieldMappings.timeEntryDescription': { from: '{{notes}}', to: '{{notes}} ({{projectName}}, {{hours}} h)' },
        'fieldMappings.billable': { from: 'from_project', to: 'never' },
        'fieldMappings.wikiPageTitle': { from: 'Illumera Staffing Plan', to: 'Staffing' },
      },
    })
    expect(Object.keys(audit.data[0].changes)).toHaveLength(5)

    // A second change records only itself; a change to the same values records nothing.
    await patchSettings(s, { fieldMappings: { roles: { talent: 'devops_engineer' } } })
    const same = await patchSettings(s, { syncDirection: 'illumera_to_align', fieldMappings: { billable: 'never' } })
    expect(same.statusCode).toBe(200)
    const after = await changes(s)
    expect(after.data).toHaveLength(2)
    expect(after.data[0].changes).toEqual({ 'fieldMappings.roles.talent': { from: 'developer', to: 'devops_engineer' } })
  })

  it.each([
    [{ syncDirection: 'sideways' }, 'body/syncDirection'],
    [{ fieldMappings: { roles: { talent: 'admin' } } }, 'body/fieldMappings/roles/talent'],
    [{ fieldMappings: { roles: { contractor: 'developer' } } }, 'body/fieldMappings/roles/contractor is not an allowed field'],
    [{ fieldMappings: { roles: {} } }, 'body/fieldMappings/roles must name at least 1 field(s)'],
    [{ fieldMappings: { timeEntryDescription: '{{notes}} {{password}}' } }, 'body/fieldMappings/timeEntryDescription has an unknown placeholder {{password}}'],
    [{ fieldMappings: { timeEntryDescription: 'Work: {{notes' } }, 'body/fieldMappings/timeEntryDescription has an unclosed or nested {{ }} placeholder'],
    [{ fieldMappings: { timeEntryDescription: 'x'.repeat(1001) } }, 'body/fieldMappings/timeEntryDescription must NOT have more than 1000 characters'],
    [{ fieldMappings: { billable: 'sometimes' } }, 'body/fieldMappings/billable'],
    [{ fieldMappings: { wikiPageTitle: '' } }, 'body/fieldMappings/wikiPageTitle'],
    [{ fieldMappings: { wikiPageTitle: '   ' } }, 'body/fieldMappings/wikiPageTitle'],
    [{ fieldMappings: { wikiPageTitle: 'x'.repeat(501) } }, 'body/fieldMappings/wikiPageTitle'],
    [{ fieldMappings: { colour: 'red' } }, 'body/fieldMappings/colour is not an allowed field'],
    [{ fieldMappings: {} }, 'body/fieldMappings must name at least 1 field(s)'],
    [{ direction: 'bidirectional' }, 'body/direction is not an allowed field'],
    [{}, 'body must name at least 1 field(s)'],
    // A valid part does not go through when another part is invalid.
    [{ syncDirection: 'align_to_illumera', fieldMappings: { timeEntryDescription: '{{nope}}' } }, 'body/fieldMappings/timeEntryDescription has an unknown placeholder {{nope}}'],
  ])('%j → 400 naming the field; nothing changes', async (payload, message) => {
    const s = await seedCompany(t.db, { connected: true })
    const before = await snapshotRows(t.db)
    const auditBefore = (await auditRows()).length
    const res = await patchSettings(s, payload)
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toContain(message)
    expect(await snapshotRows(t.db)).toEqual(before)
    expect(await auditRows()).toHaveLength(auditBefore)
    expect((await settings(s)).json()).toMatchObject({ syncDirection: 'bidirectional', fieldMappings: DEFAULT_FIELD_MAPPINGS })
  })

  it('is for company admins (talent: 403) of a company with a connection (else 404)', async () => {
    const s = await seedCompany(t.db, { connected: true })
    const talent = await h.app.inject({ method: 'PATCH', url: '/api/align/connections/settings', headers: await h.headers(s.talent), payload: { syncDirection: 'bidirectional' } })
    expect(talent.statusCode).toBe(403)
    const none = await seedCompany(t.db)
    expect((await settings(none)).statusCode).toBe(404)
    expect((await patchSettings(none, { syncDirection: 'align_to_illumera' })).statusCode).toBe(404)
  })
})

describe('sync direction on the api side', () => {
  /** Every kind of Illumera change that pushes to Align; returns the ids of what it touched. */
  async function makeEveryChange(s: Seeded) {
    const admin = await h.headers(s.admin)
    const project = (await h.app.inject({ method: 'POST', url: '/api/projects', headers: admin, payload: { name: 'Direction' } })).json()
    await h.app.inject({ method: 'PATCH', url: `/api/projects/${project.id}`, headers: admin, payload: { name: 'Direction 2' } })
    await h.app.inject({ method: 'POST', url: `/api/projects/${project.id}/activate`, headers: admin })
    const { user, person } = await createTalent(t.db, s.tenant.id)
    const projectRow = await t.db.selectFrom('projects').selectAll().where('id', '=', project.id).executeTakeFirstOrThrow()
    const engagement = await createEngagement(t.db, projectRow, person.id)
    await h.app.inject({ method: 'POST', url: `/api/engagements/${engagement.id}/accept`, headers: admin })
    await h.app.inject({ method: 'PATCH', url: `/api/users/${user.id}`, headers: admin, payload: { name: 'Renamed' } })
    const entry = (await h.app.inject({ method: 'POST', url: '/api/time-entries', headers: admin, payload: { engagementId: engagement.id, workDate: '2026-11-02', minutes: 60 } })).json()
    await h.app.inject({ method: 'PATCH', url: `/api/time-entries/${entry.id}`, headers: admin, payload: { minutes: 90 } })
    await h.app.inject({ method: 'POST', url: `/api/time-entries/${entry.id}/submit`, headers: admin })
    const draft = (await h.app.inject({ method: 'POST', url: '/api/time-entries', headers: admin, payload: { engagementId: engagement.id, workDate: '2026-11-03', minutes: 30 } })).json()
    await h.app.inject({ method: 'DELETE', url: `/api/time-entries/${draft.id}`, headers: admin })
    await h.app.inject({ method: 'POST', url: `/api/engagements/${engagement.id}/end`, headers: admin })
    return [project.id, user.id, engagement.id, entry.id, draft.id]
  }

  it('align_to_illumera writes no outbox row for any change (the one-statement time entry create included); the other two do', async () => {
    const s = await seedCompany(t.db, { connected: true })
    await patchSettings(s, { syncDirection: 'align_to_illumera' })
    const ids = await makeEveryChange(s)
    expect(await t.db.selectFrom('align_sync_outbox').select('id').where('local_id', 'in', ids).execute()).toEqual([])
    // The entries exist all the same.
    expect(await t.db.selectFrom('time_entries').select('id').where('id', 'in', ids).execute()).toHaveLength(2)

    for (const direction of ['illumera_to_align', 'bidirectional'] as const) {
      await patchSettings(s, { syncDirection: direction })
      const more = await makeEveryChange(s)
      const rows = await t.db.selectFrom('align_sync_outbox').select(['entity_type', 'operation']).where('local_id', 'in', more).orderBy('seq').execute()
      expect(rows.map((r) => `${r.entity_type}:${r.operation}`)).toEqual([
        'project:upsert', 'project:upsert', 'wiki_page:upsert', 'user:upsert', 'project_member:upsert', 'user:upsert',
        'time_entry:upsert', 'time_entry:upsert', 'time_entry_submit:upsert', 'time_entry:upsert', 'time_entry:delete', 'project_member:delete',
      ])
    }
  })

  it('with outbound off, backfill and resync are a 409 that says why, and write nothing', async () => {
    const s = await seedCompany(t.db, { connected: true })
    await patchSettings(s, { syncDirection: 'align_to_illumera' })
    const before = await snapshotRows(t.db)
    for (const path of ['backfill', 'resync']) {
      const res = await h.app.inject({ method: 'POST', url: `/api/align/connections/${path}`, headers: await h.headers(s.admin) })
      expect(res.statusCode).toBe(409)
      expect(res.json()).toMatchObject({ code: 'outbound_sync_off' })
      expect(res.json().message).toContain('sync direction is align_to_illumera')
    }
    expect(await snapshotRows(t.db)).toEqual(before)
  })
})

describe('initial sync on connect', () => {
  async function connect(s: Seeded, apiKey: string, extra: object = {}) {
    return h.app.inject({ method: 'POST', url: '/api/align/connections', headers: await h.headers(s.admin), payload: { apiKey, ...extra } })
  }
  async function status(s: Seeded) {
    return (await h.app.inject({ method: 'GET', url: '/api/align/connections', headers: await h.headers(s.admin) })).json()
  }

  it('runs at once; its progress (total, done, failed, pending) shows in the status and the admin dashboard until it completes', async () => {
    const s = await seedCompany(t.db)
    await createTimeEntry(t.db, s.engagement, { status: 'submitted' })
    const org = await sandbox.control.createOrg()
    const res = await connect(s, org.apiKey)
    expect(res.statusCode, res.body).toBe(201)
    const { connection } = res.json()
    const rows = await t.db.selectFrom('align_sync_outbox').select(['id', 'entity_type', 'sync_run_id']).where('connection_id', '=', connection.id).orderBy('seq').execute()
    expect(rows.map((r) => r.entity_type)).toEqual(['project', 'user', 'project_member', 'time_entry', 'time_entry_submit', 'wiki_page'])
    const runId = connection.initialSync.id
    expect(new Set(rows.map((r) => r.sync_run_id))).toEqual(new Set([runId]))
    expect(connection.initialSync).toEqual({ id: runId, kind: 'initial_sync', startedAt: expect.any(String), total: 6, done: 0, failed: 0, pending: 6, completed: false })
    expect(connection.latestSyncRun).toEqual(connection.initialSync)

    // A row written later for the same connection is not part of the run.
    await h.app.inject({ method: 'POST', url: '/api/time-entries', headers: await h.headers(s.talent), payload: { engagementId: s.engagement.id, workDate: '2026-11-05', minutes: 15 } })

    // The worker delivers some, dead-letters one, and retention deletes a done row: counts stay right.
    const setStatus = (ids: string[], status: 'done' | 'failed' | 'processing') => t.db.updateTable('align_sync_outbox').set({ status }).where('id', 'in', ids).execute()
    await setStatus([rows[0]!.id, rows[1]!.id, rows[2]!.id], 'done')
    await setStatus([rows[3]!.id], 'failed')
    await setStatus([rows[4]!.id], 'processing')
    await t.db.deleteFrom('align_sync_outbox').where('id', '=', rows[0]!.id).execute()
    expect((await status(s)).initialSync).toMatchObject({ total: 6, done: 3, failed: 1, pending: 2, completed: false })

    const platform = await h.headers(s.platform)
    const dashboard = (await h.app.inject({ method: 'GET', url: '/api/admin/align/connections', headers: platform })).json()
    const health = dashboard.data.find((c: { id: string }) => c.id === connection.id)
    expect(health).toMatchObject({
      syncDirection: 'bidirectional', keyAge: { days: 0, thresholdDays: 80, needsRotation: false },
      initialSync: { id: runId, total: 6, done: 3, failed: 1, pending: 2, completed: false },
    })

    await setStatus([rows[4]!.id, rows[5]!.id], 'done')
    expect((await status(s)).initialSync).toMatchObject({ total: 6, done: 5, failed: 1, pending: 0, completed: true })

    // An on-demand backfill becomes the latest run; the initial sync stays what it was. (No worker wrote links
    // here, so the backfill enqueues the same six again; the entry logged since has its own pending row.)
    const backfill = await h.app.inject({ method: 'POST', url: '/api/align/connections/backfill', headers: await h.headers(s.admin) })
    expect(backfill.statusCode).toBe(200)
    const after = await status(s)
    expect(after.initialSync).toMatchObject({ id: runId, total: 6, done: 5, failed: 1, completed: true })
    expect(after.latestSyncRun).toMatchObject({ kind: 'backfill', total: 6, pending: 6, completed: false })
  })

  it('is skipped with backfill: false, and for an inbound-only connection; settings given on connect are recorded', async () => {
    const optOut = await seedCompany(t.db)
    const res = await connect(optOut, (await sandbox.control.createOrg()).apiKey, { backfill: false })
    expect(res.statusCode).toBe(201)
    expect(res.json()).toMatchObject({ backfill: null, connection: { initialSync: null, latestSyncRun: null } })
    expect(await outboxRows(t.db)).not.toContainEqual(expect.objectContaining({ connection_id: res.json().connection.id }))

    const inbound = await seedCompany(t.db)
    const created = await connect(inbound, (await sandbox.control.createOrg()).apiKey, { syncDirection: 'align_to_illumera', fieldMappings: { billable: 'always' } })
    expect(created.statusCode, created.body).toBe(201)
    expect(created.json()).toMatchObject({ backfill: null, connection: { syncDirection: 'align_to_illumera', initialSync: null } })
    expect((await t.db.selectFrom('align_sync_outbox').select('id').where('connection_id', '=', created.json().connection.id).execute())).toEqual([])
    expect((await settings(inbound)).json().fieldMappings.billable).toBe('always')
    expect((await changes(inbound)).data[0]).toMatchObject({
      actorUserId: inbound.admin.userId,
      changes: { syncDirection: { from: 'bidirectional', to: 'align_to_illumera' }, 'fieldMappings.billable': { from: 'from_project', to: 'always' } },
    })
  })

  it('refuses invalid settings before calling Align: 400, no row, no subscription', async () => {
    const s = await seedCompany(t.db)
    const org = await sandbox.control.createOrg()
    const before = await snapshotRows(t.db)
    const res = await connect(s, org.apiKey, { fieldMappings: { timeEntryDescription: '{{ssn}}' } })
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toContain('body/fieldMappings/timeEntryDescription has an unknown placeholder {{ssn}}')
    expect(await snapshotRows(t.db)).toEqual(before)
    expect((await sandbox.control.state(org.organizationId)).webhooks).toHaveLength(0)
  })
})

describe('POST /api/align/connections/resync', () => {
  it('re-enqueues every linked entity with a mapped field, once, as a run; a later resync enqueues them again', async () => {
    const s = await seedCompany(t.db, { connected: true })
    const link = (external_type: 'user' | 'project_member' | 'time_entry' | 'wiki_page' | 'project', external_id: string) => ({
      tenant_id: s.tenant.id, company_id: s.company.id, provider: 'illumera', external_type, external_id, align_entity_type: external_type, align_entity_id: `align-${external_id}`,
    })
    const draft = await createTimeEntry(t.db, s.engagement)
    const submitted = await createTimeEntry(t.db, s.engagement, { status: 'submitted' })
    const imported = await createTimeEntry(t.db, s.engagement, { source: 'align' })
    const unlinked = await createTimeEntry(t.db, s.engagement)
    const otherProject = await createProject(t.db, s.owner)
    await t.db.insertInto('align_entity_links').values([
      link('project', s.project.id), link('user', s.user.id), link('project_member', s.engagement.id), link('wiki_page', s.project.id),
      link('time_entry', draft.id), link('time_entry', submitted.id), link('time_entry', imported.id),
    ]).execute()
    // Another company's links are not this company's business.
    const other = await seedCompany(t.db, { connected: true })
    await t.db.insertInto('align_entity_links').values({ ...link('user', other.user.id), tenant_id: other.tenant.id, company_id: other.company.id }).execute()

    const headers = await h.headers(s.admin)
    const first = await h.app.inject({ method: 'POST', url: '/api/align/connections/resync', headers })
    expect(first.statusCode, first.body).toBe(200)
    expect(first.json()).toMatchObject({ counts: { users: 1, members: 1, timeEntries: 1, wikiPages: 1 }, run: { kind: 'resync', total: 4, pending: 4, done: 0, completed: false } })
    const rows = await t.db.selectFrom('align_sync_outbox').selectAll().where('connection_id', '=', s.connection!.id).orderBy('seq').execute()
    expect(rows.map((r) => `${r.entity_type}:${r.local_id}`)).toEqual([`user:${s.user.id}`, `project_member:${s.engagement.id}`, `time_entry:${draft.id}`, `wiki_page:${s.project.id}`])
    expect(rows.every((r) => r.operation === 'upsert' && r.sync_run_id === first.json().run.id)).toBe(true)
    // A linked membership's upsert is marked, so the worker re-sends it (Align sets a role override only on add).
    expect(rows[1]!.payload).toEqual({ localProjectId: s.project.id, localUserId: s.user.id, recreateIfMissing: true })
    expect(rows[2]!.payload).toMatchObject({ localProjectId: s.project.id, localUserId: s.user.id, minutes: draft.minutes })
    expect(rows.map((r) => r.local_id)).not.toContain(unlinked.id)
    expect(rows.map((r) => r.local_id)).not.toContain(otherProject.id)

    // Asked again while those are queued: nothing twice.
    const second = await h.app.inject({ method: 'POST', url: '/api/align/connections/resync', headers })
    expect(second.json()).toMatchObject({ counts: { users: 0, members: 0, timeEntries: 0, wikiPages: 0 }, run: { total: 0, completed: true } })

    await t.db.updateTable('align_sync_outbox').set({ status: 'done' }).where('connection_id', '=', s.connection!.id).execute()
    const third = await h.app.inject({ method: 'POST', url: '/api/align/connections/resync', headers })
    expect(third.json().counts).toEqual({ users: 1, members: 1, timeEntries: 1, wikiPages: 1 })
  })

  it('is a 409 without an active connection', async () => {
    const s = await seedCompany(t.db)
    const res = await h.app.inject({ method: 'POST', url: '/api/align/connections/resync', headers: await h.headers(s.admin) })
    expect(res.statusCode).toBe(409)
  })
})

describe('key age', () => {
  async function metricLines(app: TestApp) {
    const res = await app.app.inject({ method: 'GET', url: '/metrics' })
    return res.body.split('\n')
  }

  it('shows the key\'s age, flags it past the threshold (default 80 days) in status, dashboard and /metrics, and a rotation resets it', async () => {
    clock = new Date('2026-11-23T10:00:00Z')
    const s = await seedCompany(t.db)
    const org = await sandbox.control.createOrg()
    const connection = (await h.app.inject({ method: 'POST', url: '/api/align/connections', headers: await h.headers(s.admin), payload: { apiKey: org.apiKey, backfill: false } })).json().connection
    expect(connection.keyAge).toEqual({ days: 0, thresholdDays: 80, needsRotation: false })
    const status = async () => (await h.app.inject({ method: 'GET', url: '/api/align/connections', headers: await h.headers(s.admin) })).json()
    const series = (lines: string[], name: string) => lines.find((l) => l.startsWith(`${name}{`) && l.includes(`connection_id="${connection.id}"`))

    clock = new Date(Date.parse('2026-11-23T10:00:00Z') + 80 * DAY_MS)
    expect((await status()).keyAge).toEqual({ days: 80, thresholdDays: 80, needsRotation: false })
    expect(series(await metricLines(h), 'align_connection_key_needs_rotation')).toMatch(/ 0$/)

    clock = new Date(Date.parse('2026-11-23T10:00:00Z') + 80 * DAY_MS + 60_000)
    expect((await status()).keyAge).toEqual({ days: 80, thresholdDays: 80, needsRotation: true })
    const lines = await metricLines(h)
    expect(series(lines, 'align_connection_key_needs_rotation')).toMatch(/ 1$/)
    expect(Number(series(lines, 'align_connection_key_age_seconds')!.split(' ').at(-1))).toBe(80 * 86_400 + 60)
    const dashboard = (await h.app.inject({ method: 'GET', url: '/api/admin/align/connections', headers: await h.headers(s.platform) })).json()
    expect(dashboard.data.find((c: { id: string }) => c.id === connection.id).keyAge).toEqual({ days: 80, thresholdDays: 80, needsRotation: true })

    const { apiKey: rotated } = await sandbox.control.createKey(org.organizationId, { scope: 'organization' })
    const patched = await h.app.inject({ method: 'PATCH', url: '/api/align/connections', headers: await h.headers(s.admin), payload: { apiKey: rotated } })
    expect(patched.json().keyAge).toEqual({ days: 0, thresholdDays: 80, needsRotation: false })
    expect(series(await metricLines(h), 'align_connection_key_needs_rotation')).toMatch(/ 0$/)

    // A disconnected connection drops out of the gauges.
    await h.app.inject({ method: 'DELETE', url: '/api/align/connections', headers: await h.headers(s.admin) })
    expect(series(await metricLines(h), 'align_connection_key_age_seconds')).toBeUndefined()
  })

  it('the threshold is configurable (ALIGN_KEY_MAX_AGE_DAYS → align.keyMaxAgeDays)', async () => {
    const start = new Date('2026-11-23T10:00:00Z')
    let now = start
    const custom = await createTestApp(t.db, { align: { baseUrl: sandbox.apiBaseUrl, keyMaxAgeDays: 30 }, now: () => now })
    try {
      const s = await seedCompany(t.db)
      await createAlignConnection(t.db, s.owner, { api_key_created_at: start })
      now = new Date(start.getTime() + 31 * DAY_MS)
      const res = await custom.app.inject({ method: 'GET', url: '/api/align/connections', headers: await custom.headers(s.admin) })
      expect(res.json().keyAge).toEqual({ days: 31, thresholdDays: 30, needsRotation: true })
    } finally {
      await custom.app.close()
    }
  })
})
