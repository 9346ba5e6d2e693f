// End to end, bidirectional, with the real services: the api and the webhook-ingest as processes, a sync
// worker in this process, the Align sandbox sending its signed webhooks to the listening ingest. Align's
// add-on page warns that two-way sync can loop and duplicate; here every change is counted on both sides:
// - connecting runs the initial sync at once, and its progress reaches completed;
// - an entry created in Illumera appears once in Align and its echo imports nothing;
// - an entry created in Align is imported once and nothing pushes it back;
// - edits on either side (and a status change in Align) never ping-pong: counts stay put over a bounded wait;
// - a changed description template reaches the existing Align entry through a resync, once;
// - each one-way direction stops its half, and only that.
import { randomUUID } from 'node:crypto'
import { closeAlignPools } from '@illumera/align-gateway'
import { type AlignSandbox, startAlignSandbox } from '@illumera/align-sandbox'
import { createEngagement, createProject, createTalent, createTenantWithCompany, until, useTestDatabase } from '@illumera/test-harness'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeWorker } from './helpers/setup.js'
import { API_MAIN, createTokenSigner, INGEST_MAIN, type ServiceProcess, startService } from './helpers/stack.js'

const t = useTestDatabase()
let sandbox: AlignSandbox
let ingest: ServiceProcess
let api: ServiceProcess
let worker: ReturnType<typeof makeWorker>['worker']
const signer = createTokenSigner()

beforeAll(async () => {
  sandbox = await startAlignSandbox({ port: 0, rateLimitPerMinute: 0, webhookRetryDelaysMs: [50, 100, 200] })
  ingest = await startService(INGEST_MAIN, { DATABASE_URL: t.url })
  api = await startService(API_MAIN, {
    DATABASE_URL: t.url, ALIGN_BASE_URL: sandbox.apiBaseUrl, ALIGN_WEBHOOK_BASE_URL: ingest.url, AUTH_PUBLIC_KEY: signer.publicKeyPem,
  })
  worker = makeWorker(t.db, sandbox, { pollIntervalMs: 100 }, { databaseUrl: t.url }).worker
  worker.start()
}, 120_000)

afterAll(async () => {
  await worker?.stop()
  if (process.env.SHOW_CHILD_OUTPUT) for (const s of [api, ingest]) console.log(s?.output.join('').slice(-5000))
  await Promise.all([api?.stop(), ingest?.stop()])
  await sandbox?.close()
  await closeAlignPools()
})

async function call(method: string, url: string, token: string, body?: unknown) {
  const res = await fetch(`${api.url}${url}`, {
    method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await res.text()
  if (res.status >= 300) throw new Error(`${method} ${url} → ${res.status}: ${text}`)
  return text ? JSON.parse(text) : null
}

describe('bidirectional sync through api, worker, ingest and the Align sandbox', () => {
  it('creates each record once on each side, never loops, and applies a changed mapping by resync once', async () => {
    // ── Illumera before connecting: a company, an active project, a talent with an accepted engagement ──
    const { tenant, company } = await createTenantWithCompany(t.db)
    const owner = { tenantId: tenant.id, companyId: company.id }
    const project = await createProject(t.db, owner, { name: 'Data Platform', status: 'active' })
    const { user, person } = await createTalent(t.db, tenant.id, { name: 'Ada Lovelace' })
    const engagement = await createEngagement(t.db, project, person.id, { status: 'accepted', accepted_at: new Date() })
    const admin = signer.token({ ...owner, role: 'company_admin', userId: `admin-${randomUUID()}` })
    const talent = signer.token({ ...owner, role: 'talent', userId: user.id })
    const { organizationId, apiKey } = await sandbox.control.createOrg({ name: 'Loop test' })
    /** An entry logged directly in Align: its REST API with the org key, no externalRef (our gateway always sends one). */
    const logInAlign = async (input: { projectId: string; userId: string; workDate: string; minutes: number; description: string }) => {
      const res = await fetch(`${sandbox.apiBaseUrl}/projects/${input.projectId}/time-entries`, {
        method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body: JSON.stringify({ userId: input.userId, workDate: input.workDate, minutes: input.minutes, description: input.description }),
      })
      expect(res.status).toBe(201)
      return (await res.json()) as { id: string }
    }

    const connected = await call('POST', '/api/align/connections', admin, { apiKey })
    const connectionId: string = connected.connection.id
    expect(connected.connection.initialSync).toMatchObject({ kind: 'initial_sync', total: 4, completed: false })

    // ── the probes ──
    const open = async () => Number((await t.db.selectFrom('align_sync_outbox').select((eb) => eb.fn.countAll<string>().as('n'))
      .where('connection_id', '=', connectionId).where('status', 'in', ['pending', 'processing']).executeTakeFirstOrThrow()).n)
    /** Until the outbox is empty and Align's webhooks are delivered, twice over (a delivery could enqueue, a push could deliver). */
    const quiesce = async () => {
      for (let i = 0; i < 3; i++) {
        await until(async () => (await open()) === 0, 'the outbox to drain', { limitMs: 30_000 })
        await sandbox.control.settled()
      }
    }
    const counts = async () => {
      const state = await sandbox.control.state(organizationId)
      const entries = await t.db.selectFrom('time_entries').select(['id', 'source', 'minutes', 'notes', 'status']).where('engagement_id', '=', engagement.id).orderBy('created_at').execute()
      const outbox = await t.db.selectFrom('align_sync_outbox').select(['entity_type', 'local_id', 'status']).where('connection_id', '=', connectionId).execute()
      const deliveries = await t.db.selectFrom('align_webhook_deliveries').select(['delivery_id', 'status']).where('connection_id', '=', connectionId).execute()
      return { alignEntries: state.timeEntries, illumeraEntries: entries, outbox, deliveries, sent: (await sandbox.control.deliveries(organizationId)).length }
    }
    /** Nothing moves any more: the same counts after waiting several poll intervals and webhook retry delays. */
    const expectStable = async () => {
      await quiesce()
      const before = await counts()
      await new Promise((resolve) => setTimeout(resolve, 1500))
      await quiesce()
      const after = await counts()
      expect({ align: after.alignEntries.length, illumera: after.illumeraEntries.length, outbox: after.outbox.length, deliveries: after.deliveries.length, sent: after.sent })
        .toEqual({ align: before.alignEntries.length, illumera: before.illumeraEntries.length, outbox: before.outbox.length, deliveries: before.deliveries.length, sent: before.sent })
      expect(after.deliveries.every((d) => d.status === 'processed')).toBe(true)
      return after
    }

    // ── the initial sync runs at once and completes ──
    await quiesce()
    const status = await call('GET', '/api/align/connections', admin)
    expect(status.initialSync).toMatchObject({ total: 4, done: 4, failed: 0, pending: 0, completed: true })
    const alignProject = (await sandbox.control.state(organizationId)).projects.find((p) => p.externalRef?.externalId === project.id)!
    const alignUser = (await sandbox.control.state(organizationId)).users.find((u) => u.externalRef?.externalId === user.id)!
    expect(alignProject).toBeDefined()
    expect(alignUser.role).toBe('developer')

    // ── an entry created in Illumera: once in Align, its time.logged echo imports nothing ──
    const mine = await call('POST', '/api/time-entries', talent, { engagementId: engagement.id, workDate: '2026-11-02', minutes: 90, notes: 'Auth module' })
    let now = await expectStable()
    expect(now.alignEntries.filter((e) => e.externalRef?.externalId === mine.id)).toHaveLength(1)
    expect(now.alignEntries).toHaveLength(1)
    expect(now.illumeraEntries).toHaveLength(1)
    const mineInAlign = now.alignEntries[0]!
    expect(mineInAlign).toMatchObject({ minutes: 90, description: 'Auth module', projectId: alignProject.id, userId: alignUser.id })

    // ── an entry created in Align (the org key, no externalRef): imported once, nothing pushes it back ──
    const theirs = await logInAlign({ projectId: alignProject.id, userId: alignUser.id, workDate: '2026-11-03', minutes: 45, description: 'Logged in Align' })
    now = await expectStable()
    expect(now.alignEntries).toHaveLength(2)
    expect(now.illumeraEntries).toHaveLength(2)
    const imported = now.illumeraEntries.find((e) => e.source === 'align')!
    expect(imported).toMatchObject({ minutes: 45, notes: 'Logged in Align', status: 'draft' })
    expect(now.outbox.filter((r) => r.local_id === imported.id)).toEqual([])
    const importLink = await t.db.selectFrom('align_entity_links').select('external_id').where('align_entity_type', '=', 'time_entry').where('align_entity_id', '=', theirs.id).executeTakeFirst()
    expect(importLink?.external_id).toBe(imported.id)

    // ── edits on either side never ping-pong ──
    await call('PATCH', `/api/time-entries/${mine.id}`, talent, { minutes: 120 }) // Illumera → Align update → time.updated
    now = await expectStable()
    expect(new Map(now.alignEntries.map((e) => [e.id, e])).get(mineInAlign.id)).toMatchObject({ minutes: 120 })
    await sandbox.control.editTimeEntry(theirs.id, { minutes: 50 }) // a manager's edit in Align → time.updated
    now = await expectStable()
    // Updates flow from Illumera to Align, not back (time.updated is a no-op here, as in the reference).
    expect(now.illumeraEntries.find((e) => e.id === imported.id)).toMatchObject({ minutes: 45 })
    await call('PATCH', `/api/time-entries/${imported.id}`, talent, { notes: 'Logged in Align, revised' }) // the imported one, edited here
    now = await expectStable()
    expect(now.alignEntries).toHaveLength(2)
    expect(now.illumeraEntries).toHaveLength(2)
    // Illumera's snapshot of the entry goes to Align whole.
    expect(new Map(now.alignEntries.map((e) => [e.id, e])).get(theirs.id)).toMatchObject({ minutes: 45, description: 'Logged in Align, revised' })
    // Each Illumera change made exactly one outbox row (create, two edits); the webhooks made none.
    expect(now.outbox.map((r) => `${r.entity_type}:${r.local_id === mine.id ? 'mine' : r.local_id === imported.id ? 'imported' : 'initial'}`).sort())
      .toEqual(['project:initial', 'project_member:initial', 'time_entry:imported', 'time_entry:mine', 'time_entry:mine', 'user:initial', 'wiki_page:initial'].sort())

    // ── a changed description template reaches the existing entry through a resync, once ──
    await call('PATCH', '/api/align/connections/settings', admin, { fieldMappings: { timeEntryDescription: '{{notes}} [{{projectName}}]' } })
    const resync = await call('POST', '/api/align/connections/resync', admin)
    expect(resync.counts).toEqual({ users: 1, members: 1, timeEntries: 1, wikiPages: 1 }) // the imported entry is Align's own
    now = await expectStable()
    expect((await call('GET', '/api/align/connections', admin)).latestSyncRun).toMatchObject({ id: resync.run.id, kind: 'resync', total: 4, done: 4, completed: true })
    expect(now.alignEntries).toHaveLength(2)
    expect(now.illumeraEntries).toHaveLength(2)
    expect(new Map(now.alignEntries.map((e) => [e.id, e.description])).get(mineInAlign.id)).toBe('Auth module [Data Platform]')
    const state = await sandbox.control.state(organizationId)
    expect([state.projects.length, state.users.filter((u) => u.externalRef).length, state.members.length, state.wikiPages.length]).toEqual([1, 1, 1, 1])

    // ── a status change in Align comes back once and pushes nothing ──
    await call('POST', `/api/time-entries/${mine.id}/submit`, talent)
    await quiesce()
    await sandbox.control.approve(mineInAlign.id)
    const outboxBefore = now.outbox.length
    now = await expectStable()
    expect(now.illumeraEntries.find((e) => e.id === mine.id)).toMatchObject({ status: 'approved' })
    expect(now.outbox).toHaveLength(outboxBefore + 1) // the submit only

    // ── one-way directions stop exactly their half ──
    await call('PATCH', '/api/align/connections/settings', admin, { syncDirection: 'illumera_to_align' })
    const ignored = await logInAlign({ projectId: alignProject.id, userId: alignUser.id, workDate: '2026-11-04', minutes: 30, description: 'Not for Illumera' })
    now = await expectStable()
    expect(now.illumeraEntries).toHaveLength(2)
    const noted = await t.db.selectFrom('align_webhook_deliveries').select('status').where('connection_id', '=', connectionId)
      .where('event_name', '=', 'time.logged').where('error', 'like', '%sync direction is illumera_to_align%').execute()
    expect(noted).toEqual([{ status: 'processed' }])
    expect(now.alignEntries.map((e) => e.id)).toContain(ignored.id)

    await call('PATCH', '/api/align/connections/settings', admin, { syncDirection: 'align_to_illumera' })
    const local = await call('POST', '/api/time-entries', talent, { engagementId: engagement.id, workDate: '2026-11-05', minutes: 15 })
    const welcome = await logInAlign({ projectId: alignProject.id, userId: alignUser.id, workDate: '2026-11-06', minutes: 20, description: 'Inbound only' })
    now = await expectStable()
    expect(now.outbox.filter((r) => r.local_id === local.id)).toEqual([])
    expect(now.alignEntries.map((e) => e.externalRef?.externalId)).not.toContain(local.id)
    expect(now.illumeraEntries.filter((e) => e.source === 'align').map((e) => e.notes)).toEqual(['Logged in Align, revised', 'Inbound only'])
    expect(await t.db.selectFrom('align_entity_links').select('id').where('align_entity_id', '=', welcome.id).execute()).toHaveLength(1)
  }, 180_000)
})
