// Shared test setup: a sandbox per file, connections with really encrypted keys, a worker whose logs
// are captured, and outbox writes through the api's own insertOutboxRow.
import { randomUUID } from 'node:crypto'
import { Writable } from 'node:stream'
import type { AlignGateway } from '@illumera/align-gateway'
import type { AlignSandbox } from '@illumera/align-sandbox'
import { type Database, insertOutboxRow, type OutboxWrite } from '@illumera/db-schema'
import { createGatewayFactory, createLogger, createMetricsRegistry, encryptConnectionSecret, SecretBox } from '@illumera/service-kit'
import { createTenantWithCompany } from '@illumera/test-harness'
import type { Kysely } from 'kysely'
import { createSyncWorker, type SyncWorkerOptions } from '../../src/worker.js'

export const ENCRYPTION_KEY = '0123456789abcdef'.repeat(4)
export const box = new SecretBox(ENCRYPTION_KEY)

export interface TestConnection {
  tenantId: string
  companyId: string
  connectionId: string
  organizationId: string
  apiKey: string
}

export async function connect(db: Kysely<Database>, sandbox: AlignSandbox): Promise<TestConnection> {
  const { tenant, company } = await createTenantWithCompany(db)
  const { organizationId, apiKey } = await sandbox.control.createOrg()
  const connectionId = randomUUID()
  await db.insertInto('align_connections').values({
    id: connectionId, tenant_id: tenant.id, company_id: company.id,
    encrypted_api_key: encryptConnectionSecret(box, connectionId, 'encrypted_api_key', apiKey),
    key_last_four: apiKey.slice(-4), align_org_id: organizationId, align_key_scope: 'organization',
  }).execute()
  return { tenantId: tenant.id, companyId: company.id, connectionId, organizationId, apiKey }
}

export function captureLogs() {
  const lines: string[] = []
  const stream = new Writable({ write(chunk, _e, done) { lines.push(String(chunk)); done() } })
  return { lines, logger: createLogger({ level: 'debug', destination: stream }) }
}

export const FAST_RETRIES = [1_000, 2_000, 3_000, 4_000, 5_000]

export interface MakeWorkerExtra {
  databaseUrl?: string
  /** Wraps each real gateway (to pace a call in a race test); the calls still reach the sandbox. */
  wrapGateway?: (gateway: AlignGateway) => AlignGateway
  /** Overrides the worker's sampled "event loop is busy" flag. */
  loopBusy?: () => boolean
}

export function makeWorker(db: Kysely<Database>, sandbox: AlignSandbox, options: Partial<SyncWorkerOptions> = {}, extra: MakeWorkerExtra = {}) {
  const logs = captureLogs()
  const metrics = createMetricsRegistry('sync-worker-test')
  const gatewayFor = createGatewayFactory({ box, baseUrl: sandbox.apiBaseUrl, timeoutMs: 5_000 })
  const worker = createSyncWorker({
    db, logger: logs.logger, metrics, databaseUrl: extra.databaseUrl, loopBusy: extra.loopBusy,
    gatewayFor: extra.wrapGateway ? (connection) => extra.wrapGateway!(gatewayFor(connection)) : gatewayFor,
    options: { retryDelaysMs: FAST_RETRIES, rateLimitPerMinute: 0, ...options },
  })
  return { worker, logs, metrics }
}

type WriteFor<K extends OutboxWrite['entityType']> = Extract<OutboxWrite, { entityType: K }>

/** Writes an outbox row exactly as the api does (same function, its own transaction). */
export async function enqueue<K extends OutboxWrite['entityType']>(
  db: Kysely<Database>, c: TestConnection, entityType: K, localId: string, payload: WriteFor<K>['payload'], operation: 'upsert' | 'delete' = 'upsert',
): Promise<string> {
  return db.transaction().execute((trx) => insertOutboxRow(trx, {
    tenantId: c.tenantId, companyId: c.companyId, connectionId: c.connectionId, entityType, localId, operation, payload,
  } as OutboxWrite))
}

export function projectPayload(name = 'Federal Data Platform') {
  return { name, description: 'GSA modernization', timeBillingEnabled: true }
}
export function userPayload(n: number | string) {
  return { email: `talent${n}@example.com`, name: `Talent ${n}`, role: 'talent' as const }
}
export function entryPayload(localProjectId: string, localUserId: string, minutes = 90) {
  return { localProjectId, localUserId, workDate: '2026-11-02', minutes, notes: 'Auth module', timeBillingEnabled: true, isAdjustment: false, adjustsEntryId: null }
}

export async function rowsOf(db: Kysely<Database>, localId: string) {
  return db.selectFrom('align_sync_outbox').selectAll().where('local_id', '=', localId).orderBy('seq').execute()
}

export async function linkOf(db: Kysely<Database>, externalType: string, externalId: string) {
  return db.selectFrom('align_entity_links').selectAll().where('external_type', '=', externalType as never).where('external_id', '=', externalId).executeTakeFirst()
}

/** Runs cycles at `now` until nothing is claimed (bounded). */
export async function drain(worker: { runOnce(now?: Date): Promise<{ claimed: number }> }, now = new Date(), max = 20) {
  let total = 0
  for (let i = 0; i < max; i++) {
    const r = await worker.runOnce(now)
    total += r.claimed
    if (r.claimed === 0) return total
  }
  throw new Error(`drain: still claiming after ${max} cycles`)
}

export function id(prefix: string) {
  return `${prefix}-${randomUUID()}`
}

/** How many Align calls of this operation the worker made (from its latency histogram). */
export async function alignCalls(metrics: import('prom-client').Registry, operation: string): Promise<number> {
  const metric = metrics.getSingleMetric('sync_align_call_duration_seconds')
  if (!metric) return 0
  const { values } = await metric.get()
  return values.filter((v) => (v as { metricName?: string }).metricName === 'sync_align_call_duration_seconds_count' && v.labels.operation === operation).reduce((n, v) => n + v.value, 0)
}

export function later(base: Date, ms: number): Date {
  return new Date(base.getTime() + ms)
}
