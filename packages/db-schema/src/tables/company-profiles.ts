import type { Insertable, Selectable, Updateable } from 'kysely'
import type { CreatedAt, UpdatedAt } from './common.js'

/** A hiring company inside a tenant; each company connects to at most one Align organisation at a time. */
export interface CompanyProfilesTable {
  id: string
  tenant_id: string
  name: string
  created_at: CreatedAt
  updated_at: UpdatedAt
}
export type CompanyProfile = Selectable<CompanyProfilesTable>
export type NewCompanyProfile = Insertable<CompanyProfilesTable>
export type CompanyProfileUpdate = Updateable<CompanyProfilesTable>
