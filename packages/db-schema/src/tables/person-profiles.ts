import type { Insertable, Selectable, Updateable } from 'kysely'
import type { CreatedAt, GeneratedId, UpdatedAt } from './common.js'

/** The talent profile of a user: engagements and time entries point here. One per user. */
export interface PersonProfilesTable {
  id: GeneratedId
  tenant_id: string
  user_id: string
  title: string | null
  created_at: CreatedAt
  updated_at: UpdatedAt
}
export type PersonProfile = Selectable<PersonProfilesTable>
export type NewPersonProfile = Insertable<PersonProfilesTable>
export type PersonProfileUpdate = Updateable<PersonProfilesTable>
