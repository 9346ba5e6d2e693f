import type { Insertable, Selectable, Updateable } from 'kysely'
import type { CreatedAt, UpdatedAt } from './common.js'

/** An Illumera tenant (a customer organisation). Ids come from the identity provider. */
export interface TenantsTable {
  id: string
  name: string
  created_at: CreatedAt
  updated_at: UpdatedAt
}
export type Tenant = Selectable<TenantsTable>
export type NewTenant = Insertable<TenantsTable>
export type TenantUpdate = Updateable<TenantsTable>
