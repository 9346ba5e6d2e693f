import type { Insertable, Selectable } from 'kysely'
import type { GeneratedId, TimestampWithDefault } from './common.js'

/** A discrepancy found by reconciliation: approved_minutes, approved_cost_cents or entity_link.<type>. */
export interface AlignReconciliationLogTable {
  id: GeneratedId
  tenant_id: string
  project_id: string | null
  field: string
  illumera_value: string | null
  align_value: string | null
  detected_at: TimestampWithDefault
  // ── beyond the reference ──
  connection_id: string | null
  run_id: string | null
}
export type AlignReconciliationLogRow = Selectable<AlignReconciliationLogTable>
export type NewAlignReconciliationLogRow = Insertable<AlignReconciliationLogTable>
