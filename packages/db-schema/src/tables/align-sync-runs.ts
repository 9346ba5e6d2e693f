import type { Insertable, Selectable, Updateable } from 'kysely'
import type { CreatedAt, GeneratedId } from './common.js'

/** initial_sync: the backfill run on connect; backfill: on demand; resync: re-pushes linked entities after a mapping change. */
export type SyncRunKind = 'initial_sync' | 'backfill' | 'resync'

/**
 * A bulk sync run: the outbox rows it wrote carry its id (align_sync_outbox.sync_run_id), so its progress is
 * counted from them (done = total − pending − processing − failed: retention deletes only done rows).
 */
export interface AlignSyncRunsTable {
  id: GeneratedId
  connection_id: string
  tenant_id: string
  company_id: string
  kind: SyncRunKind
  total: number
  /** users.id of who asked for it. */
  requested_by: string | null
  started_at: CreatedAt
}
export type AlignSyncRun = Selectable<AlignSyncRunsTable>
export type NewAlignSyncRun = Insertable<AlignSyncRunsTable>
export type AlignSyncRunUpdate = Updateable<AlignSyncRunsTable>
