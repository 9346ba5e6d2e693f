// time.logged: entries made in Align are imported (source 'align', linked, no outbox row); echoes of
// our own entries are no-ops; unmappable entries are recorded with a note; the connection's sync direction
// decides whether anything is imported. Also the entity-link events.
import { randomUUID } from 'node:crypto'
import { useTestDatabase, createEngagement, createProject, createTalent } from '@illumera/test-harness'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findDelivery, findEntry, type IngestApp, post, seedConnection, type SeededConnection, seedLinkedEntry, signed, snapshot, startIngest } from '../helpers/ingest.js'

const t = useTestDatabase()
let ingest: Awaited<ReturnType<typeof startIngest>>
let app: IngestApp

beforeAll(async () => {
  ingest = await startIngest(t.db)
  app = ingest.app
})
afterAll(async () => {
  await app.close()
})

async function link(seeded: SeededConnection, externalType: 'user' | 'project' | 'project_member' | 'wiki_page', externalId: string, alignEntityId: string) {
  await t.db.insertInto('align_entity_links')
    .values({ tenant_id: seeded.scope.tenantId, company_id: seeded.scope.companyId, provider: 'illumera', external_type: externalType, external_id: externalId, align_entity_type: externalType, align_entity_id: alignEntityId })
    .execute()
}

/** A connection, a talent with an accepted engagement on a project, both linked to Align ids. */
async function mapped() {
  const seeded = await seedConnection(t.db, ingest.secretBox)
  const { user, person } = await createTalent(t.db, seeded.scope.tenantId)
  const project = await createProject(t.db, seeded.scope)
  await createEngagement(t.db, project, person.id, { status: 'ended', ended_at: new Date() })
  const engagement = await createEngagement(t.db, project, person.id, { status: 'accepted', accepted_at: new Date() })
  const alignUserId = `au-${randomUUID()}`
  const alignProjectId = `ap-${randomUUID()}`
  await link(seeded, 'user', user.id, alignUserId)
  await link(seeded, 'project', project.id, alignProjectId)
  return { seeded, user, person, project, engagement, alignUserId, alignProjectId }
}

function alignEntry(m: Awaited<ReturnType<typeof mapped>>, overrides: Record<string, unknown> = {}) {
  return {
    id: `ate-${randomUUID()}`, organizationId: m.seeded.orgId, projectId: m.alignProjectId, userId: m.alignUserId, workDate: '2026-11-03',
    hours: '2.5', minutes: 150, description: 'Site survey', billable: true, status: 'draft', rejectionReason: null, externalRef: null,
    createdAt: new Date().toISOString(), updatedAt: new Date().toISOString(), ...overrides,
  }
}

async function sendLogged(seeded: SeededConnection, data: Record<string, unknown>, deliveryId?: string) {
  const request = signed(seeded.secret, 'time.logged', { organizationId: seeded.orgId, data }, deliveryId)
  const res = await post(app, request)
  expect(res.statusCode).toBe(200)
  return request.headers['x-align-delivery-id']!
}

describe('time.logged import', () => {
  it('imports an entry made in Align: source align, synced, mapped to the accepted engagement, linked, no outbox row', async () => {
    const m = await mapped()
    const data = alignEntry(m)
    const deliveryId = await sendLogged(m.seeded, data)
    const linkRow = await t.db.selectFrom('align_entity_links').selectAll().where('align_entity_type', '=', 'time_entry').where('align_entity_id', '=', data.id).executeTakeFirstOrThrow()
    expect(linkRow).toMatchObject({ tenant_id: m.seeded.scope.tenantId, company_id: m.seeded.scope.companyId, external_type: 'time_entry', provider: 'illumera' })
    const entry = await t.db.selectFrom('time_entries').selectAll().where('id', '=', linkRow.external_id).executeTakeFirstOrThrow()
    expect(entry).toMatchObject({
      tenant_id: m.seeded.scope.tenantId, company_id: m.seeded.scope.companyId, project_id: m.project.id, engagement_id: m.engagement.id,
      person_id: m.person.id, work_date: '2026-11-03', minutes: 150, notes: 'Site survey', status: 'draft', source: 'align', sync_status: 'synced',
    })
    expect(await t.db.selectFrom('align_sync_outbox').selectAll().execute()).toEqual([])
    expect(await findDelivery(t.db, deliveryId)).toMatchObject({ status: 'processed', error: null })
  })

  it('keeps the status Align reports (e.g. submitted)', async () => {
    const m = await mapped()
    const data = alignEntry(m, { status: 'submitted' })
    await sendLogged(m.seeded, data)
    const rows = await t.db.selectFrom('time_entries').select('status').where('engagement_id', '=', m.engagement.id).execute()
    expect(rows).toEqual([{ status: 'submitted' }])
  })

  it('a later status event applies to the imported entry', async () => {
    const m = await mapped()
    const data = alignEntry(m, { status: 'submitted' })
    await sendLogged(m.seeded, data)
    const res = await post(app, signed(m.seeded.secret, 'time.approved', { organizationId: m.seeded.orgId, data: { ...data, status: 'approved' } }))
    expect(res.statusCode).toBe(200)
    const rows = await t.db.selectFrom('time_entries').select('status').where('engagement_id', '=', m.engagement.id).execute()
    expect(rows).toEqual([{ status: 'approved' }])
  })

  it('a retried or replayed time.logged imports once', async () => {
    const m = await mapped()
    const data = alignEntry(m)
    const deliveryId = await sendLogged(m.seeded, data)
    await sendLogged(m.seeded, data, deliveryId)
    await sendLogged(m.seeded, { ...data, updatedAt: new Date(Date.now() + 1000).toISOString() })
    expect(await t.db.selectFrom('time_entries').select('id').where('engagement_id', '=', m.engagement.id).execute()).toHaveLength(1)
  })

  it('an echo of our own entry (externalRef provider illumera) is a no-op', async () => {
    const m = await mapped()
    const before = await snapshot(t.db)
    const deliveryId = await sendLogged(m.seeded, alignEntry(m, { externalRef: { provider: 'illumera', externalType: 'time_entry', externalId: randomUUID() } }))
    const after = await snapshot(t.db)
    expect(after.entries).toEqual(before.entries)
    expect(after.links).toEqual(before.links)
    expect(await findDelivery(t.db, deliveryId)).toMatchObject({ status: 'processed', error: null })
  })

  it('an externalRef of another provider is imported', async () => {
    const m = await mapped()
    await sendLogged(m.seeded, alignEntry(m, { externalRef: { provider: 'jira', externalType: 'time_entry', externalId: 'J-1' } }))
    expect(await t.db.selectFrom('time_entries').select('source').where('engagement_id', '=', m.engagement.id).execute()).toEqual([{ source: 'align' }])
  })

  const unmappable: Array<[string, (m: Awaited<ReturnType<typeof mapped>>) => Promise<Record<string, unknown>>, RegExp]> = [
    ['an unlinked Align user', async (m) => alignEntry(m, { userId: 'au-nobody' }), /Align user au-nobody is not linked to an Illumera user/],
    ['an unlinked Align project', async (m) => alignEntry(m, { projectId: 'ap-nowhere' }), /Align project ap-nowhere is not linked to an Illumera project/],
    ['no accepted engagement', async (m) => {
      await t.db.updateTable('engagements').set({ status: 'ended' }).where('id', '=', m.engagement.id).execute()
      return alignEntry(m)
    }, /has no accepted engagement on project/],
    ['a bad workDate', async (m) => alignEntry(m, { workDate: '03/11/2026' }), /workDate is not YYYY-MM-DD/],
    ['bad minutes', async (m) => alignEntry(m, { minutes: 0 }), /minutes must be a whole number from 1 to 1440/],
  ]
  for (const [what, build, note] of unmappable) {
    it(`${what}: processed with a clear note, 200, nothing imported`, async () => {
      const m = await mapped()
      const data = await build(m)
      const before = await snapshot(t.db)
      const deliveryId = await sendLogged(m.seeded, data)
      const after = await snapshot(t.db)
      expect(after.entries).toEqual(before.entries)
      expect(after.links).toEqual(before.links)
      const delivery = await findDelivery(t.db, deliveryId)
      expect(delivery?.status).toBe('processed')
      expect(delivery?.error).toMatch(note)
      // Align's retry of the same delivery is deduplicated, not failed forever.
      const retry = await post(app, signed(m.seeded.secret, 'time.logged', { organizationId: m.seeded.orgId, data }, deliveryId))
      expect(retry.json()).toEqual({ received: true, deduplicated: true })
    })
  }

  it('a user linked in another company of the tenant does not map', async () => {
    const m = await mapped()
    const other = await seedConnection(t.db, ingest.secretBox, { owner: { tenantId: m.seeded.scope.tenantId, companyId: (await t.db.insertInto('company_profiles').values({ id: `company-${randomUUID()}`, tenant_id: m.seeded.scope.tenantId, name: 'Other' }).returning('id').executeTakeFirstOrThrow()).id } })
    const deliveryId = await sendLogged(other, alignEntry(m, { organizationId: other.orgId }))
    expect((await findDelivery(t.db, deliveryId))?.error).toMatch(/is not linked to an Illumera user/)
  })
})

describe('entity link events', () => {
  it('project_member.added links the engagement as "<projectId>:<userId>"; updated keeps it', async () => {
    const m = await mapped()
    const data = { id: `am-${randomUUID()}`, projectId: m.alignProjectId, userId: m.alignUserId, roleOverride: null, metadata: null, externalRef: { provider: 'illumera', externalType: 'project_member', externalId: m.engagement.id }, createdAt: new Date().toISOString() }
    expect((await post(app, signed(m.seeded.secret, 'project_member.added', { organizationId: m.seeded.orgId, data }))).statusCode).toBe(200)
    const rows = await t.db.selectFrom('align_entity_links').selectAll().where('external_type', '=', 'project_member').where('external_id', '=', m.engagement.id).execute()
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ align_entity_type: 'project_member', align_entity_id: `${m.alignProjectId}:${m.alignUserId}`, company_id: m.seeded.scope.companyId })
    expect((await post(app, signed(m.seeded.secret, 'project_member.updated', { organizationId: m.seeded.orgId, data: { ...data, roleOverride: 'lead' } }))).statusCode).toBe(200)
    expect(await t.db.selectFrom('align_entity_links').select('align_entity_id').where('external_id', '=', m.engagement.id).execute()).toEqual([{ align_entity_id: `${m.alignProjectId}:${m.alignUserId}` }])
  })

  it('project_member.updated corrects a link that pointed elsewhere', async () => {
    const m = await mapped()
    await link(m.seeded, 'project_member', m.engagement.id, 'ap-old:au-old')
    const data = { projectId: m.alignProjectId, userId: m.alignUserId, externalRef: { provider: 'illumera', externalType: 'project_member', externalId: m.engagement.id } }
    await post(app, signed(m.seeded.secret, 'project_member.updated', { organizationId: m.seeded.orgId, data }))
    expect(await t.db.selectFrom('align_entity_links').select('align_entity_id').where('external_id', '=', m.engagement.id).execute()).toEqual([{ align_entity_id: `${m.alignProjectId}:${m.alignUserId}` }])
  })

  it('a member made in Align (no externalRef) links nothing', async () => {
    const m = await mapped()
    const before = await snapshot(t.db)
    const request = signed(m.seeded.secret, 'project_member.added', { organizationId: m.seeded.orgId, data: { projectId: m.alignProjectId, userId: 'au-x', externalRef: null } })
    await post(app, request)
    expect((await snapshot(t.db)).links).toEqual(before.links)
    expect(await findDelivery(t.db, request.headers['x-align-delivery-id']!)).toMatchObject({ status: 'processed', error: null })
  })

  it('an externalRef naming an engagement this company does not have is noted', async () => {
    const m = await mapped()
    const before = await snapshot(t.db)
    const request = signed(m.seeded.secret, 'project_member.added', { organizationId: m.seeded.orgId, data: { projectId: m.alignProjectId, userId: m.alignUserId, externalRef: { provider: 'illumera', externalType: 'project_member', externalId: 'eng-missing' } } })
    await post(app, request)
    expect((await snapshot(t.db)).links).toEqual(before.links)
    expect((await findDelivery(t.db, request.headers['x-align-delivery-id']!))?.error).toBe('externalRef names project_member eng-missing, which this company does not have')
  })

  it('wiki_page.created links the project page by data.id', async () => {
    const m = await mapped()
    const data = { id: `awp-${randomUUID()}`, projectId: m.alignProjectId, title: 'Staffing', content: '', externalRef: { provider: 'illumera', externalType: 'wiki_page', externalId: m.project.id } }
    await post(app, signed(m.seeded.secret, 'wiki_page.created', { organizationId: m.seeded.orgId, data }))
    expect(await t.db.selectFrom('align_entity_links').select(['align_entity_type', 'align_entity_id']).where('external_type', '=', 'wiki_page').where('external_id', '=', m.project.id).execute())
      .toEqual([{ align_entity_type: 'wiki_page', align_entity_id: data.id }])
  })
})

describe('sync direction', () => {
  async function setDirection(seeded: SeededConnection, direction: 'illumera_to_align' | 'align_to_illumera' | 'bidirectional') {
    // As PATCH /api/align/connections/settings writes it (the row's updated_at moves with it).
    await t.db.updateTable('align_connections').set({ sync_direction: direction, settings_updated_at: new Date() }).where('id', '=', seeded.connection.id).execute()
  }
  async function importedOf(m: Awaited<ReturnType<typeof mapped>>) {
    return t.db.selectFrom('time_entries').select(['id', 'status']).where('engagement_id', '=', m.engagement.id).where('source', '=', 'align').execute()
  }

  it('illumera_to_align: an entry logged in Align is recorded and answered 200, with a note, but not imported', async () => {
    const m = await mapped()
    await setDirection(m.seeded, 'illumera_to_align')
    const before = await snapshot(t.db)
    const deliveryId = await sendLogged(m.seeded, alignEntry(m))
    const after = await snapshot(t.db)
    expect(after.entries).toEqual(before.entries)
    expect(after.links).toEqual(before.links)
    expect(await findDelivery(t.db, deliveryId)).toMatchObject({
      status: 'processed', error: 'not imported: the connection\'s sync direction is illumera_to_align (entries logged in Align are not imported)',
    })
    // The echo of our own entry stays a plain no-op.
    const echo = await sendLogged(m.seeded, alignEntry(m, { externalRef: { provider: 'illumera', externalType: 'time_entry', externalId: randomUUID() } }))
    expect(await findDelivery(t.db, echo)).toMatchObject({ status: 'processed', error: null })
  })

  it('illumera_to_align: Align\'s status changes on the entries we pushed still apply', async () => {
    const seeded = await seedConnection(t.db, ingest.secretBox)
    await setDirection(seeded, 'illumera_to_align')
    const { entry, alignId } = await seedLinkedEntry(t.db, seeded, 'submitted')
    const res = await post(app, signed(seeded.secret, 'time.approved', { organizationId: seeded.orgId, data: { id: alignId, status: 'approved' } }))
    expect(res.statusCode).toBe(200)
    expect(await findEntry(t.db, entry.id)).toMatchObject({ status: 'approved', sync_status: 'synced' })
  })

  it.each(['align_to_illumera', 'bidirectional'] as const)('%s: an entry logged in Align is imported, and its status changes apply', async (direction) => {
    const m = await mapped()
    await setDirection(m.seeded, direction)
    const data = alignEntry(m, { status: 'submitted' })
    await sendLogged(m.seeded, data)
    expect(await importedOf(m)).toEqual([{ id: expect.any(String), status: 'submitted' }])
    await post(app, signed(m.seeded.secret, 'time.rejected', { organizationId: m.seeded.orgId, data: { ...data, status: 'rejected', rejectionReason: 'wrong code' } }))
    expect((await importedOf(m)).map((e) => e.status)).toEqual(['rejected'])
  })

  it('a direction change takes effect on the next delivery, though the connection was just looked up (cached)', async () => {
    const m = await mapped()
    await sendLogged(m.seeded, alignEntry(m))
    expect(await importedOf(m)).toHaveLength(1)
    await setDirection(m.seeded, 'illumera_to_align')
    await sendLogged(m.seeded, alignEntry(m))
    expect(await importedOf(m)).toHaveLength(1)
    await setDirection(m.seeded, 'bidirectional')
    await sendLogged(m.seeded, alignEntry(m))
    expect(await importedOf(m)).toHaveLength(2)
  })
})
