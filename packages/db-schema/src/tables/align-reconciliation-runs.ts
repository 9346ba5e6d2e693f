import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely'
import type { GeneratedId, NullableTimestamp } from './common.js'

export type ReconciliationOutcome = 'ok' | 'discrepancies' | 'failed' | 'incomplete'

/**
 * One row per reconciliation run (services/reconciliation; not in the reference), for the admin dashboard's
 * "last run". finished_at and outcome stay null while the run is going (or if it died). The counts are totals
 * over every connection the run checked; `summary` holds one JSON object per connection:
 * `{ connections: [{ connectionId, tenantId, companyId, status: 'ok'|'discrepancies'|'incomplete',
 *   projectsChecked, projectsFailed, linkCheck: 'complete'|'incomplete'|'not_run', discrepancies: { <field>: n },
 *   alignCalls, rateLimited, durationMs, error? }] }`. `options` records the flags (connection, since, fix).
 * A --dry-run writes no row. align_reconciliation_log.run_id points here.
 */
export interface AlignReconciliationRunsTable {
  id: GeneratedId
  started_at: ColumnType<Date, Date | string, Date | string>
  finished_at: NullableTimestamp
  outcome: ReconciliationOutcome | null
  options: ColumnType<unknown, string | undefined, string>
  connections_checked: Generated<number>
  connections_incomplete: Generated<number>
  projects_checked: Generated<number>
  discrepancies: Generated<number>
  align_calls: Generated<number>
  summary: ColumnType<unknown, string | null | undefined, string | null>
  /** Why a failed run failed (a message, never a secret). */
  error: string | null
}
export type AlignReconciliationRun = Selectable<AlignReconciliationRunsTable>
export type NewAlignReconciliationRun = Insertable<AlignReconciliationRunsTable>
export type AlignReconciliationRunUpdate = Updateable<AlignReconciliationRunsTable>
