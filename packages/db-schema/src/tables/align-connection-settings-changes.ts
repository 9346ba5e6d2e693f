import type { ColumnType, Insertable, Selectable } from 'kysely'
import type { CreatedAt, GeneratedId } from './common.js'

/** One setting's change: its value before and after. */
export interface SettingChange {
  from: unknown
  to: unknown
}

/** Audit trail of align_connections.sync_direction / field_mappings: who changed what, and when. Append-only. */
export interface AlignConnectionSettingsChangesTable {
  id: GeneratedId
  connection_id: string
  tenant_id: string
  company_id: string
  /** users.id (JWT subject) of the company admin who made the change. */
  actor_user_id: string
  /** Keyed by setting path, e.g. `syncDirection`, `fieldMappings.roles.talent`. */
  changes: ColumnType<Record<string, SettingChange>, string, never>
  changed_at: CreatedAt
}
export type AlignConnectionSettingsChange = Selectable<AlignConnectionSettingsChangesTable>
export type NewAlignConnectionSettingsChange = Insertable<AlignConnectionSettingsChangesTable>
