// Connect, status, rotate, resubscribe, disconnect and backfill against the align-sandbox.
import { type AlignSandbox, startAlignSandbox } from '@illumera/align-sandbox'
import { decryptConnectionSecret } from '@illumera/service-kit'
import { createTimeEntry, useTestDatabase } from '@illumera/test-harness'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WEBHOOK_EVENT_NAMES } from '../../src/connections/connections.js'
import { createTestApp, snapshotRows, type TestApp } from '../helpers/app.js'
import { outboxRows, seedCompany } from '../helpers/seed.js'

const t = useTestDatabase()
let sandbox: AlignSandbox
let h: TestApp
let clock = new Date('2026-11-23T10:00:00Z')

beforeAll(async () => {
  sandbox = await startAlignSandbox({ port: 0, rateLimitPerMinute: null })
  h = await createTestApp(t.db, { align: { baseUrl: sandbox.apiBaseUrl }, now: () => clock })
})

afterAll(async () => {
  await h?.app.close()
  await sandbox?.close()
})

async function connect(s: Awaited<ReturnType<typeof seedCompany>>, apiKey: string, extra: object = {}) {
  return h.app.inject({ method: 'POST', url: '/api/align/connections', headers: await h.headers(s.admin), payload: { apiKey, ...extra } })
}

describe('POST /api/align/connections', () => {
  it('verifies the key, registers the webhook with the full catalog, stores both secrets encrypted, and starts the initial sync', async () => {
    const s = await seedCompany(t.db)
    const org = await sandbox.control.createOrg()
    const res = await connect(s, org.apiKey)
    expect(res.statusCode, res.body).toBe(201)
    const { connection, backfill } = res.json()
    // The initial sync runs unless the request opts out: the seeded project (active), talent and membership.
    expect(backfill).toEqual({ projects: 1, users: 1, members: 1, timeEntries: 0, submits: 0, wikiPages: 1 })
    expect(connection.initialSync).toMatchObject({ kind: 'initial_sync', total: 4, done: 0, failed: 0, pending: 4, completed: false })
    expect(connection).toMatchObject({ companyId: s.company.id, status: 'active', alignOrgId: org.organizationId, alignKeyScope: 'organization', keyLastFour: org.apiKey.slice(-4) })
    expect(connection.webhookUrl).toMatch(/^https:\/\/ingest\.example\.test\/api\/webhooks\/align\/[A-Za-z0-9_-]{32}$/)
    expect(res.body).not.toContain(org.apiKey)

    const state = await sandbox.control.state(org.organizationId)
    expect(state.webhooks).toHaveLength(1)
    expect(state.webhooks[0]).toMatchObject({ id: connection.webhookSubscriptionId, destinationUrl: connection.webhookUrl, description: 'Illumera integration' })
    expect([...state.webhooks[0]!.eventNames].sort()).toEqual([...WEBHOOK_EVENT_NAMES].sort())

    const row = await t.db.selectFrom('align_connections').selectAll().where('id', '=', connection.id).executeTakeFirstOrThrow()
    expect(row.encrypted_api_key).not.toContain(org.apiKey)
    expect(decryptConnectionSecret(h.secretBox, row.id, 'encrypted_api_key', row.encrypted_api_key)).toBe(org.apiKey)
    expect(decryptConnectionSecret(h.secretBox, row.id, 'webhook_secret', row.webhook_secret!)).toMatch(/^whsec_[0-9a-f]{48}$/)
    expect(row.webhook_url).toBe(connection.webhookUrl)
    expect(connection.webhookUrl.endsWith(row.webhook_path_token!)).toBe(true)

    const status = await h.app.inject({ method: 'GET', url: '/api/align/connections', headers: await h.headers(s.admin) })
    expect(status.statusCode).toBe(200)
    expect(status.json()).toMatchObject({ id: connection.id, status: 'active', keyLastFour: org.apiKey.slice(-4), outbox: { pending: 4, processing: 0, done: 0, failed: 0 } })
    expect(status.body).not.toContain(org.apiKey)

    // A second connection for the company is a conflict, before Align is called.
    const again = await connect(s, org.apiKey)
    expect(again.statusCode).toBe(409)
    expect((await sandbox.control.state(org.organizationId)).webhooks).toHaveLength(1)
  })

  it('rejects a project-scoped key (400) and an unknown key (400), leaving nothing behind', async () => {
    const s = await seedCompany(t.db)
    const org = await sandbox.control.createOrg()
    const { apiKey: projectKey } = await sandbox.control.createKey(org.organizationId, { scope: 'project', projectId: 'p-1' }).catch(async () => {
      // A project key needs a project that exists in the org.
      const project = await (await fetch(`${sandbox.apiBaseUrl}/projects`, {
        method: 'POST', headers: { authorization: `Bearer ${org.apiKey}`, 'content-type': 'application/json', 'idempotency-key': 'p1' },
        body: JSON.stringify({ name: 'Scoped', timeBillingEnabled: true }),
      })).json() as { id: string }
      return sandbox.control.createKey(org.organizationId, { scope: 'project', projectId: project.id })
    })
    const before = await snapshotRows(t.db)
    const scoped = await connect(s, projectKey)
    expect(scoped.statusCode).toBe(400)
    expect(scoped.json().message).toBe('an organization-scoped Align API key is required (this key is project-scoped)')
    const unknown = await connect(s, 'align_not_a_key_123456')
    expect(unknown.statusCode).toBe(400)
    expect(unknown.json().message).toBe('Align rejected the API key')
    expect(await snapshotRows(t.db)).toEqual(before)
    expect((await sandbox.control.state(org.organizationId)).webhooks).toHaveLength(0)
  })

  it('a webhook creation that fails (Align 500) leaves no row and no subscription', async () => {
    // Fail exactly the call after GET /me: the gateway reports each response before the next call.
    const faulty = await createTestApp(t.db, {
      align: {
        baseUrl: sandbox.apiBaseUrl,
        gatewayOptions: { maxRetries: 0, onResponse: (info) => { if (info.path === '/me') void sandbox.control.setFaults({ failNextRequests: 1, status: 500 }) } },
      },
    })
    try {
      const s = await seedCompany(t.db)
      const org = await sandbox.control.createOrg()
      const before = await snapshotRows(t.db)
      const res = await faulty.app.inject({ method: 'POST', url: '/api/align/connections', headers: await faulty.headers(s.admin), payload: { apiKey: org.apiKey } })
      expect(res.statusCode).toBe(502)
      expect(res.json().message).toContain('creating the webhook subscription')
      expect(await snapshotRows(t.db)).toEqual(before)
      expect((await sandbox.control.state(org.organizationId)).webhooks).toHaveLength(0)
    } finally {
      await sandbox.control.clearFaults()
      await faulty.app.close()
    }
  })

  it('a database failure after the subscription was created deletes the subscription again', async () => {
    const s = await seedCompany(t.db)
    const org = await sandbox.control.createOrg()
    await sql`create function fail_connection_insert() returns trigger language plpgsql as $$ begin raise exception 'injected failure'; end $$`.execute(t.db)
    await sql`create trigger fail_connection_insert before insert on align_connections for each row when (new.company_id = ${sql.lit(s.company.id)}) execute function fail_connection_insert()`.execute(t.db)
    try {
      const before = await snapshotRows(t.db)
      const res = await connect(s, org.apiKey)
      expect(res.statusCode).toBe(500)
      expect(res.json()).toEqual({ statusCode: 500, error: 'Internal Server Error', message: 'internal server error' })
      expect(await snapshotRows(t.db)).toEqual(before)
      expect((await sandbox.control.state(org.organizationId)).webhooks).toHaveLength(0)
    } finally {
      await sql`drop trigger fail_connection_insert on align_connections`.execute(t.db)
      await sql`drop function fail_connection_insert()`.execute(t.db)
    }
  })

  it('a connection that lands while Align is being called is a 409, and our subscription is deleted', async () => {
    const s = await seedCompany(t.db)
    const org = await sandbox.control.createOrg()
    await sandbox.control.setFaults({ latencyMs: 300 })
    try {
      const pending = connect(s, org.apiKey)
      await new Promise((resolve) => setTimeout(resolve, 100))
      const other = await sandbox.control.createOrg()
      await t.db.insertInto('align_connections').values({
        tenant_id: s.tenant.id, company_id: s.company.id, encrypted_api_key: 'x', key_last_four: 'abcd', align_org_id: other.organizationId, align_key_scope: 'organization',
      }).execute()
      const res = await pending
      expect(res.statusCode).toBe(409)
      expect((await sandbox.control.state(org.organizationId)).webhooks).toHaveLength(0)
    } finally {
      await sandbox.control.clearFaults()
    }
  })

  it('connect with backfill enqueues the history in dependency order', async () => {
    const s = await seedCompany(t.db)
    await createTimeEntry(t.db, s.engagement, { status: 'submitted' })
    const org = await sandbox.control.createOrg()
    const res = await connect(s, org.apiKey, { backfill: true })
    expect(res.statusCode).toBe(201)
    expect(res.json().backfill).toEqual({ projects: 1, users: 1, members: 1, timeEntries: 1, submits: 1, wikiPages: 1 })
    const rows = await t.db.selectFrom('align_sync_outbox').select(['entity_type', 'connection_id']).where('tenant_id', '=', s.tenant.id).orderBy('seq').execute()
    expect(rows.map((r) => r.entity_type)).toEqual(['project', 'user', 'project_member', 'time_entry', 'time_entry_submit', 'wiki_page'])
    expect(new Set(rows.map((r) => r.connection_id))).toEqual(new Set([res.json().connection.id]))
  })
})

describe('PATCH /api/align/connections', () => {
  it('rotates the key (same organization), resubscribes (new secret, old one kept for the grace period), and re-activates an errored connection', async () => {
    const s = await seedCompany(t.db)
    const org = await sandbox.control.createOrg()
    const created = (await connect(s, org.apiKey)).json().connection
    const before = await t.db.selectFrom('align_connections').selectAll().where('id', '=', created.id).executeTakeFirstOrThrow()
    const oldSecret = decryptConnectionSecret(h.secretBox, before.id, 'webhook_secret', before.webhook_secret!)
    await t.db.updateTable('align_connections').set({ status: 'error', last_error_message: 'Align said 401' }).where('id', '=', created.id).execute()

    const { apiKey: newKey } = await sandbox.control.createKey(org.organizationId, { scope: 'organization' })
    clock = new Date('2026-11-23T11:00:00Z')
    const res = await h.app.inject({ method: 'PATCH', url: '/api/align/connections', headers: await h.headers(s.admin), payload: { apiKey: newKey, resubscribe: true } })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toMatchObject({ id: created.id, status: 'active', keyLastFour: newKey.slice(-4), apiKeyCreatedAt: '2026-11-23T11:00:00.000Z', webhookUrl: created.webhookUrl })
    expect(res.json().webhookSubscriptionId).not.toBe(created.webhookSubscriptionId)
    expect(res.body).not.toContain(newKey)

    const row = await t.db.selectFrom('align_connections').selectAll().where('id', '=', created.id).executeTakeFirstOrThrow()
    expect(decryptConnectionSecret(h.secretBox, row.id, 'encrypted_api_key', row.encrypted_api_key)).toBe(newKey)
    expect(decryptConnectionSecret(h.secretBox, row.id, 'previous_webhook_secret', row.previous_webhook_secret!)).toBe(oldSecret)
    expect(decryptConnectionSecret(h.secretBox, row.id, 'webhook_secret', row.webhook_secret!)).not.toBe(oldSecret)
    expect(row.previous_webhook_secret_expires_at?.toISOString()).toBe('2026-11-23T11:10:00.000Z')
    const webhooks = (await sandbox.control.state(org.organizationId)).webhooks
    expect(webhooks.map((w) => w.id)).toEqual([row.webhook_subscription_id])
  })

  it('refuses a key of another organization and a project-scoped key, changing nothing', async () => {
    const s = await seedCompany(t.db)
    const org = await sandbox.control.createOrg()
    await connect(s, org.apiKey)
    const other = await sandbox.control.createOrg()
    const before = await snapshotRows(t.db)
    const res = await h.app.inject({ method: 'PATCH', url: '/api/align/connections', headers: await h.headers(s.admin), payload: { apiKey: other.apiKey } })
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toContain('another Align organization')
    const empty = await h.app.inject({ method: 'PATCH', url: '/api/align/connections', headers: await h.headers(s.admin), payload: {} })
    expect(empty.statusCode).toBe(400)
    const bad = await h.app.inject({ method: 'PATCH', url: '/api/align/connections', headers: await h.headers(s.admin), payload: { resubscribe: false } })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().message).toContain('resubscribe')
    expect(await snapshotRows(t.db)).toEqual(before)
  })
})

describe('DELETE /api/align/connections', () => {
  it('deletes the subscription, marks the connection disconnected, keeps its outbox rows and stops new ones', async () => {
    const s = await seedCompany(t.db)
    const org = await sandbox.control.createOrg()
    const created = (await connect(s, org.apiKey, { backfill: false })).json().connection
    const headers = await h.headers(s.talent)
    const entry = await h.app.inject({ method: 'POST', url: '/api/time-entries', headers, payload: { engagementId: s.engagement.id, workDate: '2026-11-03', minutes: 60 } })
    expect(await outboxRows(t.db, entry.json().id)).toHaveLength(1)

    const res = await h.app.inject({ method: 'DELETE', url: '/api/align/connections', headers: await h.headers(s.admin) })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ id: created.id, status: 'disconnected', outbox: { pending: 1 } })
    expect((await sandbox.control.state(org.organizationId)).webhooks).toHaveLength(0)
    const row = await t.db.selectFrom('align_connections').selectAll().where('id', '=', created.id).executeTakeFirstOrThrow()
    expect(row.webhook_secret).toBeNull()

    const later = await h.app.inject({ method: 'POST', url: '/api/time-entries', headers, payload: { engagementId: s.engagement.id, workDate: '2026-11-04', minutes: 60 } })
    expect(await outboxRows(t.db, later.json().id)).toHaveLength(0)
    expect(await outboxRows(t.db, entry.json().id)).toHaveLength(1)

    const again = await h.app.inject({ method: 'DELETE', url: '/api/align/connections', headers: await h.headers(s.admin) })
    expect(again.statusCode).toBe(404)
    // The company may connect again afterwards.
    expect((await connect(s, org.apiKey)).statusCode).toBe(201)
  })
})

describe('POST /api/align/connections/backfill', () => {
  it('enqueues what is neither linked nor pending, and nothing the second time', async () => {
    const s = await seedCompany(t.db)
    const org = await sandbox.control.createOrg()
    const connection = (await connect(s, org.apiKey, { backfill: false })).json().connection
    await createTimeEntry(t.db, s.engagement)
    const deleted = await createTimeEntry(t.db, s.engagement, { deleted_at: new Date() })
    const imported = await createTimeEntry(t.db, s.engagement, { source: 'align' })
    await t.db.insertInto('align_entity_links').values({
      tenant_id: s.tenant.id, company_id: s.company.id, provider: 'illumera', external_type: 'project', external_id: s.project.id, align_entity_type: 'project', align_entity_id: 'align-p-1',
    }).execute()
    const headers = await h.headers(s.admin)
    const first = await h.app.inject({ method: 'POST', url: '/api/align/connections/backfill', headers })
    expect(first.statusCode).toBe(200)
    expect(first.json()).toEqual({ projects: 0, users: 1, members: 1, timeEntries: 1, submits: 0, wikiPages: 1 })
    const second = await h.app.inject({ method: 'POST', url: '/api/align/connections/backfill', headers })
    expect(second.json()).toEqual({ projects: 0, users: 0, members: 0, timeEntries: 0, submits: 0, wikiPages: 0 })
    const rows = await t.db.selectFrom('align_sync_outbox').selectAll().where('connection_id', '=', connection.id).execute()
    expect(rows.map((r) => r.local_id)).not.toContain(deleted.id)
    expect(rows.map((r) => r.local_id)).not.toContain(imported.id)
  })

  it('is a 409 without an active connection', async () => {
    const s = await seedCompany(t.db)
    const res = await h.app.inject({ method: 'POST', url: '/api/align/connections/backfill', headers: await h.headers(s.admin) })
    expect(res.statusCode).toBe(409)
    expect(res.json().message).toContain('no active Align connection')
  })
})

describe('secrets', () => {
  it('neither the Align API key nor the hmacSecret reaches a log line or a response', async () => {
    const logged = await createTestApp(t.db, { align: { baseUrl: sandbox.apiBaseUrl }, logLevel: 'trace' })
    try {
      const s = await seedCompany(t.db)
      const org = await sandbox.control.createOrg()
      const responses: string[] = []
      const headers = await logged.headers(s.admin)
      responses.push((await logged.app.inject({ method: 'POST', url: '/api/align/connections', headers, payload: { apiKey: org.apiKey } })).body)
      const { apiKey: rotated } = await sandbox.control.createKey(org.organizationId, { scope: 'organization' })
      responses.push((await logged.app.inject({ method: 'PATCH', url: '/api/align/connections', headers, payload: { apiKey: rotated, resubscribe: true } })).body)
      responses.push((await logged.app.inject({ method: 'GET', url: '/api/align/connections', headers })).body)
      responses.push((await logged.app.inject({ method: 'POST', url: '/api/align/connections', headers, payload: { apiKey: 'align_wrong_key_abcdef' } })).body)
      const row = await t.db.selectFrom('align_connections').selectAll().where('company_id', '=', s.company.id).executeTakeFirstOrThrow()
      const secrets = [
        org.apiKey, rotated, 'align_wrong_key_abcdef',
        decryptConnectionSecret(logged.secretBox, row.id, 'webhook_secret', row.webhook_secret!),
        decryptConnectionSecret(logged.secretBox, row.id, 'previous_webhook_secret', row.previous_webhook_secret!),
      ]
      responses.push((await logged.app.inject({ method: 'DELETE', url: '/api/align/connections', headers })).body)
      expect(logged.logs.lines.length).toBeGreaterThan(5)
      for (const secret of secrets) {
        expect(logged.logs.text).not.toContain(secret)
        for (const body of responses) expect(body).not.toContain(secret)
      }
      expect(logged.logs.text).not.toContain(headers.authorization.slice(7))
    } finally {
      await logged.app.close()
    }
  })
})
