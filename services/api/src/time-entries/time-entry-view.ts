import { Type } from '@sinclair/typebox'
import { NullableString, Timestamp } from '../http/schemas.js'
import type { TimeEntryViewColumns } from './time-entries.queries.js'

export const TIME_ENTRY_STATUSES = ['draft', 'submitted', 'approved', 'rejected', 'locked', 'invoiced'] as const
export const TimeEntryStatusSchema = Type.Union([
  Type.Literal('draft'), Type.Literal('submitted'), Type.Literal('approved'), Type.Literal('rejected'), Type.Literal('locked'), Type.Literal('invoiced'),
])

export const TimeEntryView = Type.Object({
  id: Type.String(),
  projectId: Type.String(),
  engagementId: Type.String(),
  personId: Type.String(),
  userId: Type.String(),
  workDate: Type.String(),
  minutes: Type.Integer(),
  notes: NullableString,
  status: TimeEntryStatusSchema,
  rejectionReason: NullableString,
  source: Type.Union([Type.Literal('illumera'), Type.Literal('align')]),
  syncStatus: Type.Union([Type.Literal('pending'), Type.Literal('synced'), Type.Literal('error')]),
  isAdjustment: Type.Boolean(),
  adjustsEntryId: NullableString,
  createdAt: Timestamp,
  updatedAt: Timestamp,
})

export function toTimeEntryView(row: TimeEntryViewColumns, userId: string) {
  return {
    id: row.id, projectId: row.project_id, engagementId: row.engagement_id, personId: row.person_id, userId,
    workDate: row.work_date, minutes: row.minutes, notes: row.notes, status: row.status, rejectionReason: row.rejection_reason,
    source: row.source, syncStatus: row.sync_status, isAdjustment: row.is_adjustment, adjustsEntryId: row.adjusts_entry_id,
    createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString(),
  }
}
