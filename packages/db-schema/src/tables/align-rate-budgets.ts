import type { Generated, Insertable, Selectable, Updateable } from 'kysely'
import type { UpdatedAt } from './common.js'

/**
 * One Align API key's shared request budget: the grant times (epoch milliseconds, as bigint strings) of the
 * calls made in the current sliding window by every worker replica and job, and the pacing state (GCRA's
 * theoretical arrival time, epoch ms) that spaces them. See @illumera/align-rate-budget.
 */
export interface AlignRateBudgetsTable {
  connection_id: string
  grants: string[]
  pacing_tat_ms: Generated<number>
  updated_at: UpdatedAt
}
export type AlignRateBudget = Selectable<AlignRateBudgetsTable>
export type NewAlignRateBudget = Insertable<AlignRateBudgetsTable>
export type AlignRateBudgetUpdate = Updateable<AlignRateBudgetsTable>
