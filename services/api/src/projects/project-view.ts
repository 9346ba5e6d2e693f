import type { Project, ProjectSlot } from '@illumera/db-schema'
import { Type } from '@sinclair/typebox'
import { NullableString, Timestamp } from '../http/schemas.js'

export const ProjectView = Type.Object({
  id: Type.String(),
  companyId: Type.String(),
  name: Type.String(),
  description: NullableString,
  status: Type.Union([Type.Literal('draft'), Type.Literal('active'), Type.Literal('closed')]),
  timeBillingEnabled: Type.Boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
})

export function toProjectView(row: Project) {
  return {
    id: row.id, companyId: row.company_id, name: row.name, description: row.description, status: row.status,
    timeBillingEnabled: row.time_billing_enabled, createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString(),
  }
}

export const ProjectSlotView = Type.Object({
  id: Type.String(),
  projectId: Type.String(),
  roleTitle: Type.String(),
  openings: Type.Integer(),
  hourlyRateCents: Type.Union([Type.Integer(), Type.Null()]),
  notes: NullableString,
  createdAt: Timestamp,
})

export function toProjectSlotView(row: ProjectSlot) {
  return {
    id: row.id, projectId: row.project_id, roleTitle: row.role_title, openings: row.openings,
    hourlyRateCents: row.hourly_rate_cents, notes: row.notes, createdAt: row.created_at.toISOString(),
  }
}
