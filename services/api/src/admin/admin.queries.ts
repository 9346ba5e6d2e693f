// Platform-wide reads and the dead-letter reset for platform admins. Lists are keyset-paginated.
import {
  type AlignConnection, type AlignConnectionStatus, type AlignReconciliationRun, type Database, type OutboxStatus, OUTBOX_NOTIFY_CHANNEL,
} from '@illumera/db-schema'
import { type Kysely, sql } from 'kysely'
import { cursorText, keysetAfter, type TimeCursor } from '../http/pagination.js'

export interface RetrySelection {
  connectionId?: string | undefined
  ids?: string[] | undefined
}

/**
 * Failed (dead-lettered) rows back to pending with a fresh attempt budget, due now; one NOTIFY per
 * connection wakes the worker on commit.
 */
export async function resetFailedOutboxRows(trx: Kysely<Database>, selection: RetrySelection, now: Date): Promise<number> {
  let query = trx.updateTable('align_sync_outbox')
    .set({ status: 'pending', attempts: 0, next_retry_at: now, error: null, waiting_for: null, lease_token: null, lease_expires_at: null })
    .where('status', '=', 'failed')
  if (selection.connectionId) query = query.where('connection_id', '=', selection.connectionId)
  if (selection.ids) query = query.where('id', 'in', selection.ids)
  const rows = await query.returning('connection_id').execute()
  const connections = [...new Set(rows.map((r) => r.connection_id).filter((id): id is string => id !== null))]
  for (const id of connections) await sql`select pg_notify(${OUTBOX_NOTIFY_CHANNEL}, ${id})`.execute(trx)
  return rows.length
}

export function listOutbox(
  db: Kysely<Database>, filter: { status?: OutboxStatus | undefined; connectionId?: string | undefined }, afterSeq: string | undefined, limit: number,
) {
  let query = db.selectFrom('align_sync_outbox')
    .select(['id', 'seq', 'tenant_id', 'company_id', 'connection_id', 'entity_type', 'local_id', 'operation', 'status', 'attempts',
      'last_attempt_at', 'next_retry_at', 'error', 'waiting_for', 'created_at'])
  if (filter.status) query = query.where('status', '=', filter.status)
  if (filter.connectionId) query = query.where('connection_id', '=', filter.connectionId)
  if (afterSeq !== undefined) query = query.where('seq', '>', afterSeq)
  return query.orderBy('seq').limit(limit + 1).execute()
}

/** Newest first. */
export function listDeliveries(
  db: Kysely<Database>, filter: { status?: 'received' | 'processed' | 'failed' | undefined; connectionId?: string | undefined }, before: TimeCursor | undefined, limit: number,
) {
  let query = db.selectFrom('align_webhook_deliveries')
    .select(['id', 'delivery_id', 'event_name', 'tenant_id', 'company_id', 'connection_id', 'status', 'received_at', 'processed_at', 'error', cursorText('received_at').as('cursor_at')])
  if (filter.status) query = query.where('status', '=', filter.status)
  if (filter.connectionId) query = query.where('connection_id', '=', filter.connectionId)
  if (before) query = query.where(keysetAfter('received_at', 'id', before, '<'))
  return query.orderBy('received_at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute()
}

/** Newest first. */
export function listReconciliation(
  db: Kysely<Database>, filter: { tenantId?: string | undefined; connectionId?: string | undefined; runId?: string | undefined }, before: TimeCursor | undefined, limit: number,
) {
  let query = db.selectFrom('align_reconciliation_log').selectAll().select(cursorText('detected_at').as('cursor_at'))
  if (filter.tenantId) query = query.where('tenant_id', '=', filter.tenantId)
  if (filter.connectionId) query = query.where('connection_id', '=', filter.connectionId)
  if (filter.runId) query = query.where('run_id', '=', filter.runId)
  if (before) query = query.where(keysetAfter('detected_at', 'id', before, '<'))
  return query.orderBy('detected_at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute()
}

export function listConnections(
  db: Kysely<Database>, filter: { status?: AlignConnectionStatus | undefined }, after: TimeCursor | undefined, limit: number,
): Promise<Array<AlignConnection & { cursor_at: string }>> {
  let query = db.selectFrom('align_connections').selectAll().select(cursorText('created_at').as('cursor_at'))
  if (filter.status) query = query.where('status', '=', filter.status)
  if (after) query = query.where(keysetAfter('created_at', 'id', after))
  return query.orderBy('created_at').orderBy('id').limit(limit + 1).execute()
}

/** Oldest due pending row per connection: how far behind the worker is. */
export async function oldestPendingByConnection(db: Kysely<Database>, connectionIds: string[]): Promise<Map<string, Date>> {
  if (connectionIds.length === 0) return new Map()
  const rows = await db.selectFrom('align_sync_outbox')
    .select(['connection_id', (eb) => eb.fn.min('created_at').as('oldest')])
    .where('connection_id', 'in', connectionIds).where('status', '=', 'pending')
    .groupBy('connection_id')
    .execute()
  return new Map(rows.map((r) => [r.connection_id!, new Date(r.oldest as unknown as Date)]))
}

/** Every outbox row by status, and the oldest pending one: the queue depth the dashboard headlines. */
export async function summarizeOutbox(db: Kysely<Database>): Promise<{ counts: Record<OutboxStatus, number>; oldestPendingAt: Date | null }> {
  const [byStatus, oldest] = await Promise.all([
    db.selectFrom('align_sync_outbox').select(['status', (eb) => eb.fn.countAll<string>().as('count')]).groupBy('status').execute(),
    db.selectFrom('align_sync_outbox').select((eb) => eb.fn.min('created_at').as('oldest')).where('status', '=', 'pending').executeTakeFirst(),
  ])
  const counts: Record<OutboxStatus, number> = { pending: 0, processing: 0, done: 0, failed: 0 }
  for (const row of byStatus) counts[row.status] = Number(row.count)
  return { counts, oldestPendingAt: oldest?.oldest ? new Date(oldest.oldest as unknown as Date) : null }
}

/**
 * Align's limit per API key (600 requests per sliding minute, shared by every caller of that key). The
 * sync-worker paces itself a little below it (see @illumera/align-rate-budget); the dashboard shows the
 * key's budget as Align counts it.
 */
export const ALIGN_REQUESTS_PER_MINUTE = 600

/** Calls granted in the last minute per connection (align_rate_budgets.grants are epoch ms). */
export async function countRecentGrants(db: Kysely<Database>, connectionIds: string[], now: Date): Promise<Map<string, number>> {
  if (connectionIds.length === 0) return new Map()
  const since = now.getTime() - 60_000
  const rows = await db.selectFrom('align_rate_budgets')
    .select(['connection_id', sql<number>`(select count(*) from unnest(grants) g where g > ${since})::int`.as('used')])
    .where('connection_id', 'in', connectionIds)
    .execute()
  return new Map(rows.map((r) => [r.connection_id, Number(r.used)]))
}

/** Reconciliation runs, newest first. */
export function listReconciliationRuns(
  db: Kysely<Database>, before: TimeCursor | undefined, limit: number,
): Promise<Array<AlignReconciliationRun & { cursor_at: string }>> {
  let query = db.selectFrom('align_reconciliation_runs').selectAll().select(cursorText('started_at').as('cursor_at'))
  if (before) query = query.where(keysetAfter('started_at', 'id', before, '<'))
  return query.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute()
}
