import type { Insertable, Selectable, Updateable } from 'kysely'
import type { CreatedAt, GeneratedId, UpdatedAt } from './common.js'

/** Illumera's role for a person: talent (contractor) or a company's hiring manager. */
export type IllumeraUserRole = 'talent' | 'hiring_manager'

export interface UsersTable {
  id: GeneratedId
  tenant_id: string
  email: string
  name: string
  role: IllumeraUserRole
  created_at: CreatedAt
  updated_at: UpdatedAt
}
export type User = Selectable<UsersTable>
export type NewUser = Insertable<UsersTable>
export type UserUpdate = Updateable<UsersTable>
