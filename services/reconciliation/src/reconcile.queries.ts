// Every SQL statement of the reconciliation's Illumera side. Reads go page by page (keyset pagination on
// a unique key), so memory stays flat however many projects, entries and links a company has.
import type { AlignReconciliationRun, Database, ExternalType, NewAlignReconciliationLogRow, ReconciliationOutcome, SyncDirection } from '@illumera/db-schema'
import { type Kysely, sql } from 'kysely'

export interface ConnectionRow {
  id: string
  tenant_id: string
  company_id: string
  encrypted_api_key: string
  status: string
  sync_direction: SyncDirection
}

export interface ConnectionScope {
  tenantId: string
  companyId: string
}

/** Active connections, oldest first; or the one named (whatever its status, so the caller can say why not). */
export function listConnections(db: Kysely<Database>, connectionId?: string): Promise<ConnectionRow[]> {
  let query = db.selectFrom('align_connections').select(['id', 'tenant_id', 'company_id', 'encrypted_api_key', 'status', 'sync_direction'])
  query = connectionId === undefined ? query.where('status', '=', 'active') : query.where('id', '=', connectionId)
  return query.orderBy('created_at').orderBy('id').execute()
}

export interface LinkedProject {
  project_id: string
  align_project_id: string
}

/**
 * One page of the company's projects linked to Align (external_type 'project'), after `afterProjectId`.
 * With `since`, only projects whose link, time entries or invoices changed at or after it.
 */
export function listLinkedProjectsPage(
  db: Kysely<Database>,
  scope: ConnectionScope,
  page: { afterProjectId: string | null; limit: number; since: Date | null },
): Promise<LinkedProject[]> {
  let query = db.selectFrom('align_entity_links as l')
    .innerJoin('projects as p', 'p.id', 'l.external_id')
    .select(['l.external_id as project_id', 'l.align_entity_id as align_project_id'])
    .where('l.tenant_id', '=', scope.tenantId)
    .where('l.company_id', '=', scope.companyId)
    .where('l.external_type', '=', 'project')
  if (page.afterProjectId !== null) query = query.where('l.external_id', '>', page.afterProjectId)
  const since = page.since
  if (since !== null) {
    query = query.where(({ eb, or, exists, selectFrom }) => or([
      eb('l.updated_at', '>=', since),
      exists(selectFrom('time_entries as t').select(sql`1`.as('one')).whereRef('t.project_id', '=', 'l.external_id').where('t.updated_at', '>=', since)),
      exists(selectFrom('invoices as i').innerJoin('engagements as e', 'e.id', 'i.engagement_id').select(sql`1`.as('one'))
        .whereRef('e.project_id', '=', 'l.external_id').where('i.updated_at', '>=', since)),
    ]))
  }
  return query.orderBy('l.external_id').limit(page.limit).execute()
}

/** SUM(minutes) of approved, non-deleted entries per project (as decimal strings); absent = 0. */
export async function sumApprovedMinutes(db: Kysely<Database>, tenantId: string, projectIds: string[]): Promise<Map<string, string>> {
  if (projectIds.length === 0) return new Map()
  const rows = await db.selectFrom('time_entries')
    .select(['project_id', sql<string>`sum(minutes)::text`.as('minutes')])
    .where('tenant_id', '=', tenantId)
    .where('project_id', 'in', projectIds)
    .where('status', '=', 'approved')
    .where('deleted_at', 'is', null)
    .groupBy('project_id')
    .execute()
  return new Map(rows.map((r) => [r.project_id, r.minutes]))
}

/** SUM(invoices.amount_cents) over each project's engagements (as decimal strings); absent = 0. */
export async function sumInvoicedCents(db: Kysely<Database>, tenantId: string, projectIds: string[]): Promise<Map<string, string>> {
  if (projectIds.length === 0) return new Map()
  const rows = await db.selectFrom('invoices as i')
    .innerJoin('engagements as e', 'e.id', 'i.engagement_id')
    .select(['e.project_id', sql<string>`sum(i.amount_cents)::text`.as('cents')])
    .where('i.tenant_id', '=', tenantId)
    .where('e.project_id', 'in', projectIds)
    .groupBy('e.project_id')
    .execute()
  return new Map(rows.map((r) => [r.project_id, r.cents]))
}

export interface LocalLink {
  id: string
  external_type: ExternalType
  external_id: string
  align_entity_id: string
  /** A time entry deleted here (deleted_at set): Align may hold it still (its delete on the way) or not. */
  entry_deleted: boolean
}

/**
 * One page of the company's entity links after `afterId`, except links of time entries imported from Align
 * (source 'align'): Align holds no externalRef for those, so there is no integration link to find.
 */
export function listLocalLinksPage(db: Kysely<Database>, scope: ConnectionScope, afterId: string | null, limit: number): Promise<LocalLink[]> {
  let query = db.selectFrom('align_entity_links as l')
    .leftJoin('time_entries as t', (join) => join.onRef('t.id', '=', 'l.external_id').on('l.external_type', '=', 'time_entry'))
    .select(['l.id', 'l.external_type', 'l.external_id', 'l.align_entity_id', sql<boolean>`t.deleted_at is not null`.as('entry_deleted')])
    .where('l.tenant_id', '=', scope.tenantId)
    .where('l.company_id', '=', scope.companyId)
    .where((eb) => eb.or([eb('t.source', 'is', null), eb('t.source', '!=', 'align')]))
  if (afterId !== null) query = query.where('l.id', '>', afterId)
  return query.orderBy('l.id').limit(limit).execute()
}

export async function insertDiscrepancies(db: Kysely<Database>, rows: NewAlignReconciliationLogRow[]): Promise<void> {
  if (rows.length > 0) await db.insertInto('align_reconciliation_log').values(rows).execute()
}

export async function insertRun(db: Kysely<Database>, startedAt: Date, options: unknown): Promise<string> {
  const row = await db.insertInto('align_reconciliation_runs')
    .values({ started_at: startedAt, options: JSON.stringify(options) })
    .returning('id').executeTakeFirstOrThrow()
  return row.id
}

/**
 * Closes the runs a dead process left open (finished_at null, e.g. after kill -9) as `failed`, with an error
 * saying so and naming the run that found them. Only called while holding the reconciliation lock: no other
 * run is alive then, so every open row but the caller's own is abandoned. Returns their ids.
 */
export async function closeAbandonedRuns(db: Kysely<Database>, closingRunId: string, now: Date): Promise<string[]> {
  const rows = await db.updateTable('align_reconciliation_runs')
    .set({ outcome: 'failed', finished_at: now, error: `crashed: the process ended before the run finished (closed by run ${closingRunId})` })
    .where('finished_at', 'is', null)
    .where('id', '!=', closingRunId)
    .returning('id')
    .execute()
  return rows.map((r) => r.id)
}

export interface RunTotals {
  outcome: ReconciliationOutcome
  finishedAt: Date
  connectionsChecked: number
  connectionsIncomplete: number
  projectsChecked: number
  discrepancies: number
  alignCalls: number
  summary: unknown
  error: string | null
}

export async function finishRun(db: Kysely<Database>, runId: string, totals: RunTotals): Promise<void> {
  await db.updateTable('align_reconciliation_runs')
    .set({
      outcome: totals.outcome, finished_at: totals.finishedAt, connections_checked: totals.connectionsChecked,
      connections_incomplete: totals.connectionsIncomplete, projects_checked: totals.projectsChecked,
      discrepancies: totals.discrepancies, align_calls: totals.alignCalls,
      summary: JSON.stringify(totals.summary), error: totals.error,
    })
    .where('id', '=', runId)
    .execute()
}

export function findLastRun(db: Kysely<Database>): Promise<AlignReconciliationRun | undefined> {
  return db.selectFrom('align_reconciliation_runs').selectAll().orderBy('started_at', 'desc').limit(1).executeTakeFirst()
}
