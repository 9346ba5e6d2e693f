import type { Generated, Insertable, Selectable, Updateable } from 'kysely'
import type { CreatedAt, GeneratedId, NullableTimestamp, UpdatedAt } from './common.js'

/** offered → accepted (talent joins the Align project) → ended (talent leaves it). */
export type EngagementStatus = 'offered' | 'accepted' | 'ended'

/** A person engaged on a project at an hourly rate. */
export interface EngagementsTable {
  id: GeneratedId
  tenant_id: string
  company_id: string
  project_id: string
  person_id: string
  status: Generated<EngagementStatus>
  hourly_rate_cents: number
  accepted_at: NullableTimestamp
  ended_at: NullableTimestamp
  created_at: CreatedAt
  updated_at: UpdatedAt
}
export type Engagement = Selectable<EngagementsTable>
export type NewEngagement = Insertable<EngagementsTable>
export type EngagementUpdate = Updateable<EngagementsTable>
