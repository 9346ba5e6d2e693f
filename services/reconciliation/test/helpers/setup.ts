// Shared test setup: connections with really encrypted keys against the align-sandbox, Illumera state
// through the test-harness factories plus align_entity_links rows, Align state through the gateway and the
// sandbox's control API, and a runner that drives runReconciliation with captured logs.
import { randomUUID } from 'node:crypto'
import { Writable } from 'node:stream'
import { AlignGateway, type AlignResponseInfo } from '@illumera/align-gateway'
import type { AlignSandbox } from '@illumera/align-sandbox'
import type { Database, ExternalType } from '@illumera/db-schema'
import { createGatewayFactory, createLogger, encryptConnectionSecret, SecretBox } from '@illumera/service-kit'
import { createEngagement, createProject, createTalent, createTenantWithCompany } from '@illumera/test-harness'
import type { Kysely } from 'kysely'
import { createSharedBudget } from '../../src/budget.js'
import { type Clock, systemClock } from '../../src/clock.js'
import { type ReconcileOptions, runReconciliation } from '../../src/reconcile.js'

export const ENCRYPTION_KEY = '0123456789abcdef'.repeat(4)
export const box = new SecretBox(ENCRYPTION_KEY)

export interface TestConnection {
  tenantId: string
  companyId: string
  connectionId: string
  organizationId: string
  apiKey: string
  /** A gateway on the same org with its own key (seeding does not spend the reconciliation's window). */
  seed: AlignGateway
}

export async function connect(db: Kysely<Database>, sandbox: AlignSandbox): Promise<TestConnection> {
  const { tenant, company } = await createTenantWithCompany(db)
  const { organizationId, apiKey } = await sandbox.control.createOrg()
  const seedKey = await sandbox.control.createKey(organizationId, { scope: 'organization' })
  const connectionId = randomUUID()
  await db.insertInto('align_connections').values({
    id: connectionId, tenant_id: tenant.id, company_id: company.id,
    encrypted_api_key: encryptConnectionSecret(box, connectionId, 'encrypted_api_key', apiKey),
    key_last_four: apiKey.slice(-4), align_org_id: organizationId, align_key_scope: 'organization',
  }).execute()
  const seed = new AlignGateway({ apiKey: seedKey.apiKey, baseUrl: sandbox.apiBaseUrl, maxRetries: 0 })
  return { tenantId: tenant.id, companyId: company.id, connectionId, organizationId, apiKey, seed }
}

export async function insertLink(db: Kysely<Database>, conn: TestConnection, externalType: ExternalType, externalId: string, alignEntityId: string) {
  await db.insertInto('align_entity_links').values({
    tenant_id: conn.tenantId, company_id: conn.companyId, provider: 'illumera', external_type: externalType, external_id: externalId,
    align_entity_type: externalType, align_entity_id: alignEntityId,
  }).execute()
}

export interface LinkedProjectFixture {
  projectId: string
  engagementId: string
  userId: string
  alignProjectId: string
  alignUserId: string
}

/**
 * A project here and in Align, a talent engaged on it (a member there), and the links of all three on both
 * sides: project, user and project_member agree from the start.
 */
export async function seedLinkedProject(db: Kysely<Database>, conn: TestConnection): Promise<LinkedProjectFixture> {
  const owner = { tenantId: conn.tenantId, companyId: conn.companyId }
  const project = await createProject(db, owner)
  const { user, person } = await createTalent(db, conn.tenantId)
  const engagement = await createEngagement(db, project, person.id, { status: 'accepted' })
  const alignProject = await conn.seed.createProject({ name: project.name, externalRef: { externalType: 'project', externalId: project.id } }, { idempotencyKey: project.id })
  const invite = await conn.seed.inviteUser({ email: user.email, name: user.name, role: 'developer', externalRef: { externalType: 'user', externalId: user.id } }, { idempotencyKey: user.id })
  await conn.seed.addProjectMember(alignProject.id, invite.userId, { externalRef: { externalType: 'project_member', externalId: engagement.id } }, { idempotencyKey: engagement.id })
  await insertLink(db, conn, 'project', project.id, alignProject.id)
  await insertLink(db, conn, 'user', user.id, invite.userId)
  await insertLink(db, conn, 'project_member', engagement.id, `${alignProject.id}:${invite.userId}`)
  return { projectId: project.id, engagementId: engagement.id, userId: user.id, alignProjectId: alignProject.id, alignUserId: invite.userId }
}

/** An approved entry in Align (created, submitted, approved by a manager), linked here when `localId` is given. */
export async function alignApprovedEntry(
  sandbox: AlignSandbox, conn: TestConnection, fixture: LinkedProjectFixture, minutes: number, localId: string,
): Promise<string> {
  const entry = await conn.seed.createTimeEntry(fixture.alignProjectId, {
    userId: fixture.alignUserId, workDate: '2026-11-02', minutes, externalRef: { externalType: 'time_entry', externalId: localId },
  }, { idempotencyKey: localId })
  await conn.seed.submitTimeEntry(entry.id)
  await sandbox.control.approve(entry.id)
  return entry.id
}

export function captureLogs() {
  const lines: string[] = []
  const stream = new Writable({ write(chunk, _e, done) { lines.push(String(chunk)); done() } })
  return { lines, logger: createLogger({ level: 'debug', destination: stream }), stream }
}

export interface RunOptions extends Partial<ReconcileOptions> {
  clock?: Clock
  limitPerMinute?: number
  onResponse?: (info: AlignResponseInfo) => void
}

export function reconcile(db: Kysely<Database>, sandbox: AlignSandbox, options: RunOptions = {}) {
  const { clock = systemClock, limitPerMinute = 0, onResponse, ...rest } = options
  const logs = captureLogs()
  const run = runReconciliation({
    db, logger: logs.logger, clock,
    gatewayFor: createGatewayFactory({ box, baseUrl: sandbox.apiBaseUrl, timeoutMs: 5000, onResponse }),
    budget: createSharedBudget(db, clock, { limitPerMinute }),
    options: { dryRun: false, fix: false, retryDelayMs: 10, ...rest },
  })
  return { run, logs: logs.lines }
}

export async function logRows(db: Kysely<Database>, connectionId: string) {
  return db.selectFrom('align_reconciliation_log').selectAll().where('connection_id', '=', connectionId).orderBy('field').orderBy('illumera_value').execute()
}
