import type { Insertable, Selectable, Updateable } from 'kysely'
import type { CreatedAt, GeneratedId, UpdatedAt } from './common.js'

/** An open staffing slot of a project; the staffing wiki page lists them. */
export interface ProjectSlotsTable {
  id: GeneratedId
  tenant_id: string
  project_id: string
  role_title: string
  openings: number
  hourly_rate_cents: number | null
  notes: string | null
  created_at: CreatedAt
  updated_at: UpdatedAt
}
export type ProjectSlot = Selectable<ProjectSlotsTable>
export type NewProjectSlot = Insertable<ProjectSlotsTable>
export type ProjectSlotUpdate = Updateable<ProjectSlotsTable>
