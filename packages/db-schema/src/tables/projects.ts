import type { Generated, Insertable, Selectable, Updateable } from 'kysely'
import type { CreatedAt, GeneratedId, UpdatedAt } from './common.js'

/** draft → active (activation publishes the staffing wiki page) → closed. */
export type ProjectStatus = 'draft' | 'active' | 'closed'

export interface ProjectsTable {
  id: GeneratedId
  tenant_id: string
  company_id: string
  name: string
  description: string | null
  status: Generated<ProjectStatus>
  time_billing_enabled: Generated<boolean>
  created_at: CreatedAt
  updated_at: UpdatedAt
}
export type Project = Selectable<ProjectsTable>
export type NewProject = Insertable<ProjectsTable>
export type ProjectUpdate = Updateable<ProjectsTable>
