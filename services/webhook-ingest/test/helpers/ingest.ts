// Test helpers: an ingest app over a real database, connections with encrypted secrets, linked
// time entries, and signed requests.
import { randomBytes, randomUUID } from 'node:crypto'
import { Writable } from 'node:stream'
import { buildAlignWebhookRequest } from '@illumera/align-gateway/testing'
import type { AlignConnection, Database, Engagement, TimeEntry, TimeEntryStatus } from '@illumera/db-schema'
import { createLogger, createMetricsRegistry, encryptConnectionSecret, SecretBox } from '@illumera/service-kit'
import { createEngagement, createProject, createTalent, createTenantWithCompany, createTimeEntry } from '@illumera/test-harness'
import type { Kysely } from 'kysely'
import { type AppDeps, buildApp } from '../../src/app.js'

export function captureLogs() {
  const lines: string[] = []
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(chunk.toString())
      done()
    },
  })
  return { lines, destination, text: () => lines.join('') }
}

export type IngestApp = Awaited<ReturnType<typeof buildApp>>

export async function startIngest(db: Kysely<Database>, overrides: Partial<AppDeps> = {}) {
  const logs = captureLogs()
  const secretBox = new SecretBox(randomBytes(32).toString('hex'))
  const metrics = createMetricsRegistry('webhook-ingest-test')
  const app = await buildApp({ db, logger: createLogger({ destination: logs.destination, level: 'info' }), secretBox, metrics, ...overrides })
  return { app, logs, secretBox, metrics }
}

export interface SeedConnectionOptions {
  secret?: string
  alignOrgId?: string
  pathToken?: string | null
  status?: AlignConnection['status']
  previousSecret?: string
  previousExpiresAt?: Date
  owner?: { tenantId: string; companyId: string }
}

export interface SeededConnection {
  connection: AlignConnection
  secret: string
  orgId: string
  scope: { tenantId: string; companyId: string }
}

/** A company with a connection whose webhook secrets are encrypted as the api stores them. */
export async function seedConnection(db: Kysely<Database>, box: SecretBox, options: SeedConnectionOptions = {}): Promise<SeededConnection> {
  let owner = options.owner
  if (!owner) {
    const { tenant, company } = await createTenantWithCompany(db)
    owner = { tenantId: tenant.id, companyId: company.id }
  }
  const id = randomUUID()
  const secret = options.secret ?? `whsec_${randomBytes(24).toString('hex')}`
  const orgId = options.alignOrgId ?? `org-${randomUUID()}`
  const connection = await db.insertInto('align_connections')
    .values({
      id,
      tenant_id: owner.tenantId,
      company_id: owner.companyId,
      encrypted_api_key: encryptConnectionSecret(box, id, 'encrypted_api_key', 'align_key_not_used_here'),
      key_last_four: 'here',
      align_org_id: orgId,
      align_key_scope: 'organization',
      webhook_secret: encryptConnectionSecret(box, id, 'webhook_secret', secret),
      webhook_path_token: options.pathToken === undefined ? randomBytes(16).toString('hex') : options.pathToken,
      status: options.status ?? 'active',
      previous_webhook_secret: options.previousSecret ? encryptConnectionSecret(box, id, 'previous_webhook_secret', options.previousSecret) : null,
      previous_webhook_secret_expires_at: options.previousExpiresAt ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
  return { connection, secret, orgId, scope: owner }
}

export interface LinkedEntry {
  entry: TimeEntry
  engagement: Engagement
  alignId: string
}

/** A time entry of the connection's company, linked to Align time entry `alignId`. */
export async function seedLinkedEntry(db: Kysely<Database>, seeded: SeededConnection, status: TimeEntryStatus = 'submitted', alignId = `ate-${randomUUID()}`): Promise<LinkedEntry> {
  const { person } = await createTalent(db, seeded.scope.tenantId)
  const project = await createProject(db, seeded.scope)
  const engagement = await createEngagement(db, project, person.id, { status: 'accepted', accepted_at: new Date() })
  const entry = await createTimeEntry(db, engagement, { status, sync_status: 'pending' })
  await db.insertInto('align_entity_links')
    .values({ tenant_id: seeded.scope.tenantId, company_id: seeded.scope.companyId, provider: 'illumera', external_type: 'time_entry', external_id: entry.id, align_entity_type: 'time_entry', align_entity_id: alignId })
    .execute()
  return { entry, engagement, alignId }
}

export interface SignedRequest {
  headers: Record<string, string>
  rawBody: Buffer
}

/** A delivery signed with the gateway's testing helper (timestamp: now). */
export function signed(secret: string, event: string, body: object, deliveryId?: string): SignedRequest {
  const { headers, rawBody } = buildAlignWebhookRequest(secret, event, body, deliveryId)
  return { headers: { ...headers }, rawBody }
}

export function post(app: IngestApp, request: SignedRequest, url = '/api/webhooks/align') {
  return app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', ...request.headers }, payload: request.rawBody })
}

export async function findEntry(db: Kysely<Database>, id: string): Promise<TimeEntry> {
  return db.selectFrom('time_entries').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
}

export async function findDelivery(db: Kysely<Database>, deliveryId: string) {
  return db.selectFrom('align_webhook_deliveries').selectAll().where('delivery_id', '=', deliveryId).executeTakeFirst()
}

/** Everything a webhook may write, to prove a refused request changed nothing. */
export async function snapshot(db: Kysely<Database>) {
  const [deliveries, entries, links] = await Promise.all([
    db.selectFrom('align_webhook_deliveries').selectAll().orderBy('id').execute(),
    db.selectFrom('time_entries').selectAll().orderBy('id').execute(),
    db.selectFrom('align_entity_links').selectAll().orderBy('id').execute(),
  ])
  return { deliveries, entries, links }
}

/** The value of a counter series in the registry's text output (0 when absent). */
export async function metricValue(metrics: ReturnType<typeof createMetricsRegistry>, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await metrics.getSingleMetric(name)?.get()
  const value = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
  return value?.value ?? 0
}
