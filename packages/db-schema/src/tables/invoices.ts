import type { Insertable, Selectable, Updateable } from 'kysely'
import type { BigIntColumn, CreatedAt, GeneratedId, UpdatedAt } from './common.js'

/** An invoice line for an engagement; reconciliation sums amount_cents per project. */
export interface InvoicesTable {
  id: GeneratedId
  tenant_id: string
  company_id: string
  engagement_id: string
  amount_cents: BigIntColumn
  created_at: CreatedAt
  updated_at: UpdatedAt
}
export type Invoice = Selectable<InvoicesTable>
export type NewInvoice = Insertable<InvoicesTable>
export type InvoiceUpdate = Updateable<InvoicesTable>
