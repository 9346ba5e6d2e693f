import { Type, type Static } from '@sinclair/typebox'
import { AlignExternalRefSchema, ExternalRefInput, Nullable } from './common.js'

export const AlignTimeEntryStatusSchema = Type.Union([
  Type.Literal('draft'),
  Type.Literal('submitted'),
  Type.Literal('approved'),
  Type.Literal('rejected'),
  Type.Literal('locked'),
  Type.Literal('invoiced'),
])
export type AlignTimeEntryStatus = Static<typeof AlignTimeEntryStatusSchema>

export const AlignTimeEntrySchema = Type.Object({
  id: Type.String(),
  organizationId: Type.String(),
  projectId: Type.String(),
  userId: Type.String(),
  workDate: Type.String(),
  /** minutes / 60 as a decimal string, e.g. "2.5". */
  hours: Type.String(),
  minutes: Type.Integer(),
  description: Nullable(Type.String()),
  billable: Type.Boolean(),
  status: AlignTimeEntryStatusSchema,
  rejectionReason: Type.Optional(Nullable(Type.String())),
  externalRef: Type.Optional(Nullable(AlignExternalRefSchema)),
  createdAt: Type.String(),
  updatedAt: Type.Optional(Type.String()),
})
export type AlignTimeEntry = Static<typeof AlignTimeEntrySchema>

const WorkDate = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'YYYY-MM-DD' })

export const AlignCreateTimeEntryInputSchema = Type.Object({
  /** The Align user id (from inviteUser). */
  userId: Type.String({ minLength: 1 }),
  workDate: WorkDate,
  minutes: Type.Integer({ minimum: 1 }),
  description: Type.Optional(Nullable(Type.String())),
  billable: Type.Optional(Type.Boolean()),
  externalRef: ExternalRefInput('time_entry'),
})
export type AlignCreateTimeEntryInput = Static<typeof AlignCreateTimeEntryInputSchema>

export const AlignTimeEntryUpdateSchema = Type.Object({
  workDate: Type.Optional(WorkDate),
  minutes: Type.Optional(Type.Integer({ minimum: 1 })),
  description: Type.Optional(Nullable(Type.String())),
  billable: Type.Optional(Type.Boolean()),
})
export type AlignTimeEntryUpdate = Static<typeof AlignTimeEntryUpdateSchema>

export const AlignTimeSummarySchema = Type.Object({
  projectId: Type.String(),
  totalMinutes: Type.Integer(),
  totalHours: Type.String(),
  billableMinutes: Type.Integer(),
  byStatus: Type.Record(Type.String(), Type.Integer()),
  byUser: Type.Array(Type.Object({ userId: Type.String(), totalMinutes: Type.Integer() })),
})
export type AlignTimeSummary = Static<typeof AlignTimeSummarySchema>

const Money = Type.String({ pattern: '^-?\\d+(\\.\\d+)?$', description: 'decimal string, e.g. "31000.00"' })

export const AlignCostSummarySchema = Type.Object({
  projectId: Type.String(),
  currency: Type.String(),
  plannedCost: Money,
  actualCost: Money,
  approvedCost: Money,
  pendingCost: Money,
})
export type AlignCostSummary = Static<typeof AlignCostSummarySchema>
