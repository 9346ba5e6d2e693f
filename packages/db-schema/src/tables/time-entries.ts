import type { Generated, Insertable, Selectable, Updateable } from 'kysely'
import type { CreatedAt, GeneratedId, NullableTimestamp, UpdatedAt } from './common.js'

/** draft → submitted → approved | rejected; approved → locked → invoiced; rejected → draft on edit; unlock → draft. */
export type TimeEntryStatus = 'draft' | 'submitted' | 'approved' | 'rejected' | 'locked' | 'invoiced'
/** Where the entry was created: here, or imported from Align (`time.logged` without our externalRef). */
export type TimeEntrySource = 'illumera' | 'align'
export type TimeEntrySyncStatus = 'pending' | 'synced' | 'error'

/** Columns exactly as the reference's time_entries table. */
export interface TimeEntriesTable {
  id: GeneratedId
  tenant_id: string
  company_id: string
  project_id: string
  engagement_id: string
  person_id: string
  /** ISO date, YYYY-MM-DD (text, as the reference says). */
  work_date: string
  minutes: number
  notes: string | null
  status: Generated<TimeEntryStatus>
  rejection_reason: string | null
  source: Generated<TimeEntrySource>
  sync_status: Generated<TimeEntrySyncStatus>
  sync_error: string | null
  is_adjustment: Generated<boolean>
  adjusts_entry_id: string | null
  deleted_at: NullableTimestamp
  created_at: CreatedAt
  updated_at: UpdatedAt
}
export type TimeEntry = Selectable<TimeEntriesTable>
export type NewTimeEntry = Insertable<TimeEntriesTable>
export type TimeEntryUpdate = Updateable<TimeEntriesTable>
