import type { Engagement } from '@illumera/db-schema'
import { Type } from '@sinclair/typebox'
import { Timestamp } from '../http/schemas.js'

export const EngagementView = Type.Object({
  id: Type.String(),
  projectId: Type.String(),
  userId: Type.String(),
  personId: Type.String(),
  status: Type.Union([Type.Literal('offered'), Type.Literal('accepted'), Type.Literal('ended')]),
  hourlyRateCents: Type.Integer(),
  acceptedAt: Type.Union([Timestamp, Type.Null()]),
  endedAt: Type.Union([Timestamp, Type.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
})

export function toEngagementView(row: Engagement, userId: string) {
  return {
    id: row.id, projectId: row.project_id, userId, personId: row.person_id, status: row.status, hourlyRateCents: row.hourly_rate_cents,
    acceptedAt: row.accepted_at?.toISOString() ?? null, endedAt: row.ended_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString(),
  }
}
