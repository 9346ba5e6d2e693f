import type {
  AlignConnection, AlignConnectionSettingsChange, AlignConnectionUpdate, Database, NewAlignConnection, NewAlignConnectionSettingsChange, OutboxStatus,
} from '@illumera/db-schema'
import type { Kysely } from 'kysely'
import { cursorText, keysetAfter, type TimeCursor } from '../http/pagination.js'
import type { CompanyScope } from '../projects/projects.queries.js'

/** Statuses in which a connection still exists for its company (error is fixed by a key rotation). */
export const LIVE_CONNECTION_STATUSES = ['active', 'error'] as const

export function findLiveConnection(db: Kysely<Database>, scope: CompanyScope): Promise<AlignConnection | undefined> {
  return db.selectFrom('align_connections').selectAll()
    .where('tenant_id', '=', scope.tenantId).where('company_id', '=', scope.companyId)
    .where('status', 'in', LIVE_CONNECTION_STATUSES)
    .orderBy('created_at', 'desc')
    .executeTakeFirst()
}

/**
 * The connection, locked against other changes of it (rotate, disconnect, backfill, resync). FOR NO KEY UPDATE:
 * none of them changes its keys, so the outbox rows' foreign-key checks (FOR KEY SHARE) do not wait behind
 * them, not even behind a long backfill; under load those checks run in statements shared with other tenants'
 * creates (createTimeEntryBatcher).
 */
export function lockConnection(db: Kysely<Database>, id: string): Promise<AlignConnection | undefined> {
  return db.selectFrom('align_connections').selectAll().where('id', '=', id).forNoKeyUpdate().executeTakeFirst()
}

/** The company's current connection for the status view: the live one, else the most recent. */
export function findLatestConnection(db: Kysely<Database>, scope: CompanyScope): Promise<AlignConnection | undefined> {
  return db.selectFrom('align_connections').selectAll()
    .where('tenant_id', '=', scope.tenantId).where('company_id', '=', scope.companyId)
    .orderBy((eb) => eb.case().when('status', 'in', LIVE_CONNECTION_STATUSES).then(0).else(1).end())
    .orderBy('created_at', 'desc')
    .executeTakeFirst()
}

export function insertConnection(db: Kysely<Database>, values: NewAlignConnection & { id: string }): Promise<AlignConnection> {
  return db.insertInto('align_connections').values(values).returningAll().executeTakeFirstOrThrow()
}

export function updateConnection(db: Kysely<Database>, id: string, values: AlignConnectionUpdate): Promise<AlignConnection> {
  return db.updateTable('align_connections').set(values).where('id', '=', id).returningAll().executeTakeFirstOrThrow()
}

export type OutboxCounts = Record<OutboxStatus, number>

export async function countOutboxByStatus(db: Kysely<Database>, connectionIds: string[]): Promise<Map<string, OutboxCounts>> {
  const result = new Map<string, OutboxCounts>()
  for (const id of connectionIds) result.set(id, { pending: 0, processing: 0, done: 0, failed: 0 })
  if (connectionIds.length === 0) return result
  const rows = await db.selectFrom('align_sync_outbox')
    .select(['connection_id', 'status', (eb) => eb.fn.countAll<string>().as('count')])
    .where('connection_id', 'in', connectionIds)
    .groupBy(['connection_id', 'status'])
    .execute()
  for (const row of rows) {
    const counts = result.get(row.connection_id!)
    if (counts) counts[row.status] = Number(row.count)
  }
  return result
}

export function insertSettingsChange(db: Kysely<Database>, values: NewAlignConnectionSettingsChange): Promise<AlignConnectionSettingsChange> {
  return db.insertInto('align_connection_settings_changes').values(values).returningAll().executeTakeFirstOrThrow()
}

/** A connection's settings changes, newest first (keyset-paginated). */
export function listSettingsChanges(
  db: Kysely<Database>, connectionId: string, before: TimeCursor | undefined, limit: number,
): Promise<Array<AlignConnectionSettingsChange & { cursor_at: string }>> {
  let query = db.selectFrom('align_connection_settings_changes').selectAll().select(cursorText('changed_at').as('cursor_at'))
    .where('connection_id', '=', connectionId)
  if (before) query = query.where(keysetAfter('changed_at', 'id', before, '<'))
  return query.orderBy('changed_at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute()
}
