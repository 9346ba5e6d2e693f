// End to end with the Align sandbox: a real webhook subscription pointing at a listening ingest (with
// the connection's path token), entities created through the gateway with externalRefs, the entry
// approved through the sandbox's control API; its signed webhook reaches the ingest and the Illumera
// entry becomes approved. An entry logged in Align is imported the same way.
import { randomBytes, randomUUID } from 'node:crypto'
import { AlignGateway, closeAlignPools } from '@illumera/align-gateway'
import { type AlignSandbox, startAlignSandbox, WEBHOOK_EVENT_NAMES } from '@illumera/align-sandbox'
import { encryptConnectionSecret } from '@illumera/service-kit'
import { createEngagement, createProject, createTalent, createTenantWithCompany, createTimeEntry, useTestDatabase } from '@illumera/test-harness'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findEntry, startIngest } from './helpers/ingest.js'

const t = useTestDatabase()
let sandbox: AlignSandbox
let ingest: Awaited<ReturnType<typeof startIngest>>
let ingestUrl: string

beforeAll(async () => {
  sandbox = await startAlignSandbox({ port: 0, webhookRetryDelaysMs: [50, 100, 200] })
  ingest = await startIngest(t.db)
  await ingest.app.listen({ host: '127.0.0.1', port: 0 })
  const address = ingest.app.server.address()
  ingestUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
})
afterAll(async () => {
  await ingest?.app.close()
  await sandbox?.close()
  await closeAlignPools()
})

describe('align-sandbox → webhook-ingest', () => {
  it('an entry approved in Align becomes approved in Illumera; an entry logged in Align is imported', async () => {
    const { organizationId, apiKey } = await sandbox.control.createOrg({ name: 'E2E' })
    const align = new AlignGateway({ apiKey, baseUrl: sandbox.apiBaseUrl })

    // Illumera side: a company, a talent with an accepted engagement, a submitted entry.
    const { tenant, company } = await createTenantWithCompany(t.db)
    const scope = { tenantId: tenant.id, companyId: company.id }
    const { user, person } = await createTalent(t.db, tenant.id)
    const project = await createProject(t.db, scope)
    const engagement = await createEngagement(t.db, project, person.id, { status: 'accepted', accepted_at: new Date() })
    const entry = await createTimeEntry(t.db, engagement, { status: 'submitted', minutes: 90 })

    // The connection, with the subscription's one-time hmacSecret stored encrypted, as the api does.
    const connectionId = randomUUID()
    const pathToken = randomBytes(16).toString('hex')
    const subscription = await align.createWebhook(
      { destinationUrl: `${ingestUrl}/api/webhooks/align/${pathToken}`, eventNames: [...WEBHOOK_EVENT_NAMES] },
      { idempotencyKey: `webhook:${connectionId}` },
    )
    await t.db.insertInto('align_connections').values({
      id: connectionId, tenant_id: tenant.id, company_id: company.id,
      encrypted_api_key: encryptConnectionSecret(ingest.secretBox, connectionId, 'encrypted_api_key', apiKey), key_last_four: apiKey.slice(-4),
      align_org_id: organizationId, align_key_scope: 'organization', webhook_subscription_id: subscription.id,
      webhook_secret: encryptConnectionSecret(ingest.secretBox, connectionId, 'webhook_secret', subscription.hmacSecret),
      webhook_url: `${ingestUrl}/api/webhooks/align/${pathToken}`, webhook_path_token: pathToken,
    }).execute()

    // Align side, as the sync worker would create it, and the links it would write.
    const alignProject = await align.createProject({ name: project.name, externalRef: { externalType: 'project', externalId: project.id } }, { idempotencyKey: project.id })
    const invite = await align.inviteUser({ email: user.email, name: user.name, role: 'developer', externalRef: { externalType: 'user', externalId: user.id } }, { idempotencyKey: user.id })
    await align.addProjectMember(alignProject.id, invite.userId, { externalRef: { externalType: 'project_member', externalId: engagement.id } }, { idempotencyKey: engagement.id })
    const alignEntry = await align.createTimeEntry(alignProject.id, {
      userId: invite.userId, workDate: entry.work_date, minutes: entry.minutes, description: 'Survey', billable: true,
      externalRef: { externalType: 'time_entry', externalId: entry.id },
    }, { idempotencyKey: entry.id })
    await t.db.insertInto('align_entity_links').values([
      { tenant_id: tenant.id, company_id: company.id, provider: 'illumera', external_type: 'project', external_id: project.id, align_entity_type: 'project', align_entity_id: alignProject.id },
      { tenant_id: tenant.id, company_id: company.id, provider: 'illumera', external_type: 'user', external_id: user.id, align_entity_type: 'user', align_entity_id: invite.userId },
      { tenant_id: tenant.id, company_id: company.id, provider: 'illumera', external_type: 'time_entry', external_id: entry.id, align_entity_type: 'time_entry', align_entity_id: alignEntry.id },
    ]).execute()
    await align.submitTimeEntry(alignEntry.id, { idempotencyKey: `submit:${entry.id}` })

    await sandbox.control.approve(alignEntry.id)
    await sandbox.control.settled()

    expect(await findEntry(t.db, entry.id)).toMatchObject({ status: 'approved', sync_status: 'synced' })

    // The member link came back through project_member.added; the echo of our own time.logged imported nothing.
    const memberLink = await t.db.selectFrom('align_entity_links').select('align_entity_id').where('external_type', '=', 'project_member').where('external_id', '=', engagement.id).executeTakeFirst()
    expect(memberLink?.align_entity_id).toBe(`${alignProject.id}:${invite.userId}`)

    // Two-way: an entry logged by the talent directly in Align is imported (source align), once.
    const logged = await sandbox.control.logTimeEntry(organizationId, { projectId: alignProject.id, userId: invite.userId, workDate: '2026-11-04', minutes: 45, description: 'Logged in Align' })
    await sandbox.control.lock(alignEntry.id)
    await sandbox.control.settled()
    const imported = await t.db.selectFrom('time_entries').selectAll().where('engagement_id', '=', engagement.id).where('source', '=', 'align').execute()
    expect(imported).toHaveLength(1)
    expect(imported[0]).toMatchObject({ minutes: 45, notes: 'Logged in Align', work_date: '2026-11-04', status: 'draft', sync_status: 'synced' })
    expect(await t.db.selectFrom('align_entity_links').select('external_id').where('align_entity_type', '=', 'time_entry').where('align_entity_id', '=', logged.id).executeTakeFirst())
      .toEqual({ external_id: imported[0]!.id })
    expect((await findEntry(t.db, entry.id)).status).toBe('locked')
    expect(await t.db.selectFrom('align_sync_outbox').select('id').execute()).toEqual([])

    // Every delivery the sandbox made was answered 2xx and recorded once as processed.
    const deliveries = await sandbox.control.deliveries(organizationId)
    expect(deliveries.length).toBeGreaterThanOrEqual(8)
    expect(deliveries.every((d) => d.status === 'delivered')).toBe(true)
    const recorded = await t.db.selectFrom('align_webhook_deliveries').select(['delivery_id', 'status', 'error']).where('connection_id', '=', connectionId).execute()
    expect(recorded.map((r) => r.delivery_id).sort()).toEqual(deliveries.map((d) => d.id).sort())
    expect(recorded.every((r) => r.status === 'processed')).toBe(true)
  })
})
