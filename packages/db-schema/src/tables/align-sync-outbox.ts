import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely'
import type { CreatedAt, GeneratedId, NullableTimestamp, TimestampWithDefault } from './common.js'

export type OutboxEntityType = 'project' | 'user' | 'project_member' | 'time_entry' | 'time_entry_submit' | 'time_entry_unlock' | 'wiki_page'
export type OutboxOperation = 'upsert' | 'delete'
export type OutboxStatus = 'pending' | 'processing' | 'done' | 'failed'

/** Durable queue of outbound sync operations, written in the same transaction as the domain change. */
export interface AlignSyncOutboxTable {
  id: GeneratedId
  tenant_id: string
  company_id: string
  entity_type: OutboxEntityType
  local_id: string
  operation: OutboxOperation
  /** Typed per entity type: see outbox.ts. */
  payload: unknown | null
  status: Generated<OutboxStatus>
  attempts: Generated<number>
  last_attempt_at: NullableTimestamp
  next_retry_at: TimestampWithDefault
  error: string | null
  created_at: CreatedAt
  // ── beyond the reference ──
  /** The connection the row was written for (null only for rows seeded without one). */
  connection_id: string | null
  /** Commit order: rows of one entity run in seq order. */
  seq: ColumnType<string, never, never>
  /** Fencing token of the current claim: a finish must present it. */
  lease_token: string | null
  lease_expires_at: NullableTimestamp
  /** Set while the row waits for a dependency's link (e.g. "project:<localId>"); waiting spends no attempt. */
  waiting_for: string | null
  /** The bulk sync run (align_sync_runs: initial sync, backfill, resync) that wrote the row, for its progress. */
  sync_run_id: string | null
}
export type AlignSyncOutboxRow = Selectable<AlignSyncOutboxTable>
export type NewAlignSyncOutboxRow = Insertable<AlignSyncOutboxTable>
export type AlignSyncOutboxRowUpdate = Updateable<AlignSyncOutboxTable>
