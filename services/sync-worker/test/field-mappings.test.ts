// Field mappings applied when the worker builds each Align call: roles (invite, bulk invite, membership),
// the time entry description template and billable flag, the wiki page title; a change affects later syncs,
// and a resync (the upserts POST /api/align/connections/resync enqueues) brings existing records in line once.
// Also: a 401 from Align says in the connection's last error that the key was expired or revoked, and how to rotate it.
import { type AlignSandbox, startAlignSandbox } from '@illumera/align-sandbox'
import { ALIGN_DESCRIPTION_MAX_LENGTH, DEFAULT_FIELD_MAPPINGS, type FieldMappings } from '@illumera/db-schema'
import { createProject, createTalent } from '@illumera/test-harness'
import { useTestDatabase } from '@illumera/test-harness'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { alignCalls, connect, drain, enqueue, makeWorker, type TestConnection } from './helpers/setup.js'

const t = useTestDatabase()
let sandbox: AlignSandbox

beforeAll(async () => { sandbox = await startAlignSandbox({ port: 0, rateLimitPerMinute: 0 }) })
afterAll(async () => { await sandbox.close() })

async function setMappings(c: TestConnection, mappings: Partial<FieldMappings>) {
  // What PATCH /api/align/connections/settings stores: the full mappings.
  await t.db.updateTable('align_connections').set({ field_mappings: JSON.stringify({ ...DEFAULT_FIELD_MAPPINGS, ...mappings }) }).where('id', '=', c.connectionId).execute()
}

/** Real Illumera rows (the template's projectName/userName and the member's role are read from them), enqueued and synced. */
async function staffed(c: TestConnection, worker: ReturnType<typeof makeWorker>['worker'], role: 'talent' | 'hiring_manager' = 'talent') {
  const project = await createProject(t.db, { tenantId: c.tenantId, companyId: c.companyId }, { name: 'Data Platform', time_billing_enabled: true })
  const { user } = await createTalent(t.db, c.tenantId, { name: 'Ada Lovelace', role })
  const engagementId = `engagement-${user.id}`
  const entryId = `entry-${user.id}`
  await enqueue(t.db, c, 'project', project.id, { name: project.name, description: null, timeBillingEnabled: true })
  await enqueue(t.db, c, 'user', user.id, { email: user.email, name: user.name, role })
  await enqueue(t.db, c, 'project_member', engagementId, { localProjectId: project.id, localUserId: user.id })
  await enqueue(t.db, c, 'time_entry', entryId, entryPayload(project.id, user.id, 'Auth module'))
  await enqueue(t.db, c, 'wiki_page', project.id, { localProjectId: project.id, projectName: project.name, slots: [] })
  await drain(worker)
  return { project, user, engagementId, entryId }
}

function entryPayload(localProjectId: string, localUserId: string, notes: string | null, minutes = 150) {
  return { localProjectId, localUserId, workDate: '2026-11-02', minutes, notes, timeBillingEnabled: true, isAdjustment: false, adjustsEntryId: null }
}

/** Align's records; users: ours only (the organisation's own admin is not). */
async function alignState(c: TestConnection) {
  const state = await sandbox.control.state(c.organizationId)
  return { ...state, users: state.users.filter((u) => u.externalRef !== null) }
}

describe('defaults', () => {
  it('are the reference\'s behaviour: developer (manager for a hiring manager), notes as description, the project\'s billing flag, "Illumera Staffing Plan"', async () => {
    const c = await connect(t.db, sandbox)
    const { worker } = makeWorker(t.db, sandbox)
    await staffed(c, worker)
    const { user: manager } = await createTalent(t.db, c.tenantId, { role: 'hiring_manager' })
    await enqueue(t.db, c, 'user', manager.id, { email: manager.email, name: manager.name, role: 'hiring_manager' })
    await drain(worker)
    const s = await alignState(c)
    expect(s.users.map((u) => [u.name, u.role]).sort()).toEqual([['Ada Lovelace', 'developer'], [manager.name, 'manager']].sort())
    expect(s.members.map((m) => m.roleOverride)).toEqual(['developer'])
    expect(s.timeEntries.map((e) => [e.description, e.billable])).toEqual([['Auth module', true]])
    expect(s.wikiPages.map((p) => [p.title, p.content.split('\n')[0]])).toEqual([['Illumera Staffing Plan', '# Illumera Staffing Plan — Data Platform']])
  })
})

describe('configured mappings', () => {
  it('apply to every kind of call: invite, membership, entry description (template) and billable, wiki title', async () => {
    const c = await connect(t.db, sandbox)
    await setMappings(c, {
      roles: { talent: 'tech_lead', hiring_manager: 'manager' },
      timeEntryDescription: '{{workDate}} {{notes}} — {{projectName}} ({{userName}} <{{userEmail}}>, {{hours}} h = {{minutes}} min)',
      billable: 'never',
      wikiPageTitle: 'Staffing',
    })
    const { worker } = makeWorker(t.db, sandbox)
    const { user } = await staffed(c, worker)
    const s = await alignState(c)
    expect(s.users.map((u) => u.role)).toEqual(['tech_lead'])
    expect(s.members.map((m) => m.roleOverride)).toEqual(['tech_lead'])
    expect(s.timeEntries.map((e) => [e.description, e.billable])).toEqual([
      [`2026-11-02 Auth module — Data Platform (Ada Lovelace <${user.email}>, 2.5 h = 150 min)`, false],
    ])
    expect(s.wikiPages.map((p) => [p.title, p.content.split('\n')[0]])).toEqual([['Staffing', '# Staffing — Data Platform']])
  })

  it('billable "always" overrides a project without time billing; an empty description is null; a long one is cut to Align\'s limit', async () => {
    const c = await connect(t.db, sandbox)
    const { worker } = makeWorker(t.db, sandbox)
    const { project, user } = await staffed(c, worker)
    await setMappings(c, { billable: 'always', timeEntryDescription: '{{notes}}' })
    const empty = `entry-empty-${user.id}`
    await enqueue(t.db, c, 'time_entry', empty, { ...entryPayload(project.id, user.id, null), timeBillingEnabled: false })
    await drain(worker)
    await setMappings(c, { timeEntryDescription: '{{notes}}{{notes}}{{notes}}' })
    const long = `entry-long-${user.id}`
    await enqueue(t.db, c, 'time_entry', long, entryPayload(project.id, user.id, 'n'.repeat(5000)))
    await drain(worker)
    const byRef = new Map((await alignState(c)).timeEntries.map((e) => [e.externalRef?.externalId, e]))
    expect(byRef.get(empty)!.billable).toBe(true)
    // We send null; the sandbox (its request validation coerces null to a string) keeps "".
    expect(byRef.get(empty)!.description ?? '').toBe('')
    expect(byRef.get(long)!.description).toHaveLength(ALIGN_DESCRIPTION_MAX_LENGTH)
  })

  it('bulk invites use the role mapping too', async () => {
    const c = await connect(t.db, sandbox)
    await setMappings(c, { roles: { talent: 'devops_engineer', hiring_manager: 'tech_lead' } })
    const { worker, metrics } = makeWorker(t.db, sandbox)
    const people = await Promise.all([
      createTalent(t.db, c.tenantId), createTalent(t.db, c.tenantId), createTalent(t.db, c.tenantId, { role: 'hiring_manager' }),
    ])
    for (const { user } of people) await enqueue(t.db, c, 'user', user.id, { email: user.email, name: user.name, role: user.role })
    await drain(worker)
    expect(await alignCalls(metrics, 'bulkInviteUsers')).toBe(1)
    const roles = new Map((await alignState(c)).users.map((u) => [u.email, u.role]))
    expect(people.map(({ user }) => roles.get(user.email))).toEqual(['devops_engineer', 'devops_engineer', 'tech_lead'])
  })

  it('a change applies to the next sync: the entry\'s next update carries the new description', async () => {
    const c = await connect(t.db, sandbox)
    const { worker } = makeWorker(t.db, sandbox)
    const { project, user, entryId } = await staffed(c, worker) // the worker has read (and cached) the defaults
    await setMappings(c, { timeEntryDescription: '[{{projectName}}] {{notes}}' })
    await enqueue(t.db, c, 'time_entry', entryId, entryPayload(project.id, user.id, 'Auth module, part 2', 90))
    await drain(worker)
    expect((await alignState(c)).timeEntries.map((e) => [e.description, e.minutes])).toEqual([['[Data Platform] Auth module, part 2', 90]])
  })
})

describe('resync', () => {
  it('applies a changed mapping to existing Align records once: updates only, no new record, and again the same', async () => {
    const c = await connect(t.db, sandbox)
    const { worker, metrics } = makeWorker(t.db, sandbox)
    const { project, user, engagementId, entryId } = await staffed(c, worker)
    const before = await alignState(c)
    const calls = async () => Object.fromEntries(await Promise.all(
      ['createProject', 'inviteUser', 'bulkInviteUsers', 'createTimeEntry', 'createWikiPage', 'updateUser', 'addProjectMember', 'updateTimeEntry', 'updateWikiPage']
        .map(async (op) => [op, await alignCalls(metrics, op)] as const),
    ))
    const start = await calls()

    await setMappings(c, { roles: { talent: 'tech_lead', hiring_manager: 'manager' }, timeEntryDescription: '{{notes}} ({{hours}} h)', billable: 'never', wikiPageTitle: 'Staffing' })
    // The upserts the api's resync enqueues (services/api/src/sync/resync.ts), in its order.
    const resync = async () => {
      await enqueue(t.db, c, 'user', user.id, { email: user.email, name: user.name, role: 'talent' })
      await enqueue(t.db, c, 'project_member', engagementId, { localProjectId: project.id, localUserId: user.id, recreateIfMissing: true })
      await enqueue(t.db, c, 'time_entry', entryId, entryPayload(project.id, user.id, 'Auth module'))
      await enqueue(t.db, c, 'wiki_page', project.id, { localProjectId: project.id, projectName: project.name, slots: [] })
      await drain(worker)
    }
    await resync()
    const after = await alignState(c)
    expect(after.users.map((u) => [u.id, u.role])).toEqual(before.users.map((u) => [u.id, 'tech_lead']))
    expect(after.members.map((m) => [m.id, m.roleOverride])).toEqual(before.members.map((m) => [m.id, 'tech_lead']))
    expect(after.timeEntries.map((e) => [e.id, e.description, e.billable])).toEqual(before.timeEntries.map((e) => [e.id, 'Auth module (2.5 h)', false]))
    expect(after.wikiPages.map((p) => [p.id, p.title])).toEqual(before.wikiPages.map((p) => [p.id, 'Staffing']))
    expect((await calls())).toEqual({ ...start, updateUser: start.updateUser! + 1, addProjectMember: start.addProjectMember! + 1, updateTimeEntry: start.updateTimeEntry! + 1, updateWikiPage: start.updateWikiPage! + 1 })

    // Resyncing again changes nothing in Align and creates nothing.
    await resync()
    const again = await alignState(c)
    for (const kind of ['users', 'members', 'timeEntries', 'wikiPages', 'projects'] as const) expect(again[kind]).toHaveLength(before[kind].length)
    expect(again.timeEntries.map((e) => e.description)).toEqual(['Auth module (2.5 h)'])
    const end = await calls()
    expect([end.createProject, end.inviteUser, end.bulkInviteUsers, end.createTimeEntry, end.createWikiPage]).toEqual([start.createProject, start.inviteUser, start.bulkInviteUsers, start.createTimeEntry, start.createWikiPage])
  })
})

describe('a revoked or expired key', () => {
  it('puts the connection in error with a last error that says so and how to rotate; the row waits, nothing is lost', async () => {
    const c = await connect(t.db, sandbox)
    const { worker } = makeWorker(t.db, sandbox)
    await sandbox.control.revokeKey(c.apiKey)
    const project = await createProject(t.db, { tenantId: c.tenantId, companyId: c.companyId })
    await enqueue(t.db, c, 'project', project.id, { name: project.name, description: null, timeBillingEnabled: true })
    await worker.runOnce()
    const connection = await t.db.selectFrom('align_connections').select(['status', 'last_error_message']).where('id', '=', c.connectionId).executeTakeFirstOrThrow()
    expect(connection.status).toBe('error')
    expect(connection.last_error_message).toMatch(/Align rejected the API key \(HTTP 401: expired or revoked\)/)
    expect(connection.last_error_message).toContain('rotate it with PATCH /api/align/connections')
    expect(connection.last_error_message).not.toContain(c.apiKey)
    const row = await t.db.selectFrom('align_sync_outbox').select(['status', 'attempts']).where('local_id', '=', project.id).executeTakeFirstOrThrow()
    expect(row).toEqual({ status: 'pending', attempts: 0 })
  })
})
