import type { Insertable, Selectable, Updateable } from 'kysely'
import type { UpdatedAt } from './common.js'

/**
 * One Align API key's shared request budget: the grant times (epoch milliseconds, as bigint strings) of the
 * calls made in the current sliding window by every worker replica and job. See @illumera/align-rate-budget.
 */
export interface AlignRateBudgetsTable {
  connection_id: string
  grants: string[]
  updated_at: UpdatedAt
}
export type AlignRateBudget = Selectable<AlignRateBudgetsTable>
export type NewAlignRateBudget = Insertable<AlignRateBudgetsTable>
export type AlignRateBudgetUpdate = Updateable<AlignRateBudgetsTable>
