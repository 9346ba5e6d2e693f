import { randomUUID } from 'node:crypto'
import { type AlignSandbox, startAlignSandbox } from '@illumera/align-sandbox'
import { createAlignConnection, createEngagement, createProject, createTalent, createTimeEntry, useTestDatabase } from '@illumera/test-harness'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  connect, drain, enqueue, entryPayload, id, linkOf, makeWorker, projectPayload, rowsOf, type TestConnection, userPayload,
} from './helpers/setup.js'

const t = useTestDatabase()
let sandbox: AlignSandbox

beforeAll(async () => { sandbox = await startAlignSandbox({ port: 0, rateLimitPerMinute: 0 }) })
afterAll(async () => { await sandbox.close() })

/** A project, a user and their membership, all synced. */
async function staffed(c: TestConnection, worker: ReturnType<typeof makeWorker>['worker']) {
  const projectId = id('project')
  const userId = id('user')
  const engagementId = id('engagement')
  await enqueue(t.db, c, 'project', projectId, projectPayload())
  await enqueue(t.db, c, 'user', userId, userPayload(randomUUID().slice(0, 8)))
  await enqueue(t.db, c, 'project_member', engagementId, { localProjectId: projectId, localUserId: userId })
  await drain(worker)
  return { projectId, userId, engagementId }
}

/** A real time_entries row, so sync_status can be checked. */
async function localTimeEntry(c: TestConnection): Promise<string> {
  const project = await createProject(t.db, { tenantId: c.tenantId, companyId: c.companyId })
  const { person } = await createTalent(t.db, c.tenantId)
  const engagement = await createEngagement(t.db, project, person.id)
  return (await createTimeEntry(t.db, engagement)).id
}

describe('the reference testing-guide scenario', () => {
  it('a seeded project row (no connection_id, reference payload) is done after one tick and its link is written', async () => {
    const c = await connect(t.db, sandbox)
    const { worker } = makeWorker(t.db, sandbox)
    const localId = randomUUID()
    await t.db.insertInto('align_sync_outbox').values({
      id: randomUUID(), tenant_id: c.tenantId, company_id: c.companyId, entity_type: 'project', local_id: localId,
      operation: 'upsert', payload: JSON.stringify({ name: 'Test Project', timeBillingEnabled: true }), status: 'pending', attempts: 0, next_retry_at: new Date(),
    }).execute()
    await worker.runOnce()
    const [row] = await rowsOf(t.db, localId)
    expect(row!.status).toBe('done')
    expect(row!.connection_id).toBe(c.connectionId)
    const link = await linkOf(t.db, 'project', localId)
    const state = await sandbox.control.state(c.organizationId)
    expect(state.projects).toHaveLength(1)
    expect(link!.align_entity_id).toBe(state.projects[0]!.id)
    expect(state.projects[0]!.externalRef).toMatchObject({ externalType: 'project', externalId: localId })
    const conn = await t.db.selectFrom('align_connections').select('last_sync_at').where('id', '=', c.connectionId).executeTakeFirstOrThrow()
    expect(conn.last_sync_at).not.toBeNull()
  })
})

describe('handlers', () => {
  it('project: create, then a later upsert patches it', async () => {
    const c = await connect(t.db, sandbox)
    const { worker } = makeWorker(t.db, sandbox)
    const p = id('project')
    await enqueue(t.db, c, 'project', p, projectPayload('First'))
    await drain(worker)
    await enqueue(t.db, c, 'project', p, projectPayload('Renamed'))
    await drain(worker)
    const state = await sandbox.control.state(c.organizationId)
    expect(state.projects.map((x) => x.name)).toEqual(['Renamed'])
    expect((await rowsOf(t.db, p)).map((r) => r.status)).toEqual(['done', 'done'])
  })

  it('wiki_page: waits for its project, is created once with the staffing markdown, then updated', async () => {
    const c = await connect(t.db, sandbox)
    const { worker } = makeWorker(t.db, sandbox)
    const p = id('project')
    const slots = [{ roleTitle: 'Data Engineer', openings: 2, hourlyRateCents: 12_500, notes: null }]
    await enqueue(t.db, c, 'wiki_page', p, { localProjectId: p, projectName: 'FDP', slots })
    await enqueue(t.db, c, 'project', p, projectPayload('FDP'))
    await drain(worker)
    await enqueue(t.db, c, 'wiki_page', p, { localProjectId: p, projectName: 'FDP', slots: [{ ...slots[0]!, openings: 1 }] })
    await drain(worker)
    const state = await sandbox.control.state(c.organizationId)
    expect(state.wikiPages).toHaveLength(1)
    expect(state.wikiPages[0]!.content).toContain('Data Engineer | 1 |')
    expect((await linkOf(t.db, 'wiki_page', p))!.align_entity_id).toBe(state.wikiPages[0]!.id)
    const rows = await rowsOf(t.db, p)
    expect(rows.every((r) => r.status === 'done' && r.attempts === 0)).toBe(true)
  })

  it('user: invited as developer, then updated; project_member: added with the composite link, then removed', async () => {
    const c = await connect(t.db, sandbox)
    const { worker } = makeWorker(t.db, sandbox)
    const { projectId, userId, engagementId } = await staffed(c, worker)
    let state = await sandbox.control.state(c.organizationId)
    const alignUser = state.users.find((u) => u.externalRef?.externalId === userId)!
    expect(alignUser.role).toBe('developer')
    const alignProject = state.projects[0]!
    expect((await linkOf(t.db, 'project_member', engagementId))!.align_entity_id).toBe(`${alignProject.id}:${alignUser.id}`)
    expect(state.members.some((m) => m.userId === alignUser.id && m.projectId === alignProject.id)).toBe(true)

    await enqueue(t.db, c, 'user', userId, { email: alignUser.email, name: 'Renamed Talent', role: 'talent' })
    await enqueue(t.db, c, 'project_member', engagementId, null, 'delete')
    await drain(worker)
    state = await sandbox.control.state(c.organizationId)
    expect(state.users.find((u) => u.id === alignUser.id)!.name).toBe('Renamed Talent')
    expect(state.members.some((m) => m.userId === alignUser.id && m.projectId === alignProject.id)).toBe(false)
    expect(await linkOf(t.db, 'project_member', engagementId)).toBeUndefined()
    void projectId
  })

  it('time_entry: create, patch while draft, submit, unlock after approval, delete; sync_status follows', async () => {
    const c = await connect(t.db, sandbox)
    const { worker } = makeWorker(t.db, sandbox)
    const { projectId, userId } = await staffed(c, worker)
    const entryId = await localTimeEntry(c)
    await enqueue(t.db, c, 'time_entry', entryId, entryPayload(projectId, userId, 90))
    await drain(worker)
    await enqueue(t.db, c, 'time_entry', entryId, entryPayload(projectId, userId, 120))
    await enqueue(t.db, c, 'time_entry_submit', entryId, {})
    await drain(worker)
    let state = await sandbox.control.state(c.organizationId)
    const entry = state.timeEntries[0]!
    expect(state.timeEntries).toHaveLength(1)
    expect(entry).toMatchObject({ minutes: 120, status: 'submitted' })
    await sandbox.control.approve(entry.id)
    await enqueue(t.db, c, 'time_entry_unlock', entryId, {})
    await drain(worker)
    state = await sandbox.control.state(c.organizationId)
    expect(state.timeEntries[0]!.status).toBe('draft')
    await enqueue(t.db, c, 'time_entry', entryId, null, 'delete')
    await drain(worker)
    state = await sandbox.control.state(c.organizationId)
    expect(state.timeEntries.filter((e) => !('deletedAt' in e) || !(e as { deletedAt?: unknown }).deletedAt)).toHaveLength(0)
    expect(await linkOf(t.db, 'time_entry', entryId)).toBeUndefined()
    expect((await rowsOf(t.db, entryId)).every((r) => r.status === 'done')).toBe(true)
    expect((await t.db.selectFrom('time_entries').select('sync_status').where('id', '=', entryId).executeTakeFirstOrThrow()).sync_status).toBe('synced')
  })

  it('a connection in error or disconnected is skipped and its rows are kept', async () => {
    const c = await connect(t.db, sandbox)
    const { worker } = makeWorker(t.db, sandbox)
    await t.db.updateTable('align_connections').set({ status: 'disconnected' }).where('id', '=', c.connectionId).execute()
    const p = id('project')
    await enqueue(t.db, c, 'project', p, projectPayload())
    await drain(worker)
    expect((await rowsOf(t.db, p))[0]).toMatchObject({ status: 'pending', attempts: 0 })
    void createAlignConnection
  })
})
