// Request schemas of the Align API and the control API. Bodies refuse unknown fields
// (additionalProperties: false) so a misspelt field is a 400 naming it, not silently dropped.
import { Type, type Static } from '@sinclair/typebox'
import { TIME_ENTRY_STATUSES, WEBHOOK_EVENT_NAMES } from './types.js'

const Id = Type.String({ minLength: 1, maxLength: 200 })
const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()])

export const ExternalRefSchema = Type.Object(
  {
    provider: Type.String({ minLength: 1, maxLength: 100 }),
    externalType: Type.Union([
      Type.Literal('project'),
      Type.Literal('user'),
      Type.Literal('project_member'),
      Type.Literal('time_entry'),
      Type.Literal('wiki_page'),
    ]),
    externalId: Type.String({ minLength: 1, maxLength: 200 }),
  },
  { additionalProperties: false },
)

const OptionalExternalRef = Type.Optional(Type.Union([ExternalRefSchema, Type.Null()]))
const Email = Type.String({ minLength: 3, maxLength: 320, pattern: '^[^@\\s]+@[^@\\s]+$' })
const WorkDate = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })
const Minutes = Type.Integer({ minimum: 1, maximum: 1440 })
const Description = Type.Optional(Type.Union([Type.String({ maxLength: 10_000 }), Type.Null()]))

export const InviteUserBody = Type.Object(
  {
    email: Email,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    role: Type.String({ minLength: 1, maxLength: 100 }),
    sendInvite: Type.Optional(Type.Boolean()),
    externalRef: OptionalExternalRef,
  },
  { additionalProperties: false },
)
export type InviteUserInput = Static<typeof InviteUserBody>

/** Items are checked one by one in the handler: one bad invite must not fail the others. */
export const BulkInviteBody = Type.Object(
  { invites: Type.Array(Type.Unknown(), { minItems: 1 }), sendInvite: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
)

export const UpdateUserBody = Type.Object(
  { name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), email: Type.Optional(Email), role: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })) },
  { additionalProperties: false, minProperties: 1 },
)
export type UpdateUserInput = Static<typeof UpdateUserBody>

export const CreateProjectBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Description,
    timeBillingEnabled: Type.Optional(Type.Boolean()),
    clientId: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
    externalRef: OptionalExternalRef,
  },
  { additionalProperties: false },
)
export type CreateProjectInput = Static<typeof CreateProjectBody>

export const UpdateProjectBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    description: Description,
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('archived')])),
    timeBillingEnabled: Type.Optional(Type.Boolean()),
    clientId: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
  },
  { additionalProperties: false, minProperties: 1 },
)
export type UpdateProjectInput = Static<typeof UpdateProjectBody>

export const AddMemberBody = Type.Object(
  {
    roleOverride: Type.Optional(Nullable(Type.String({ maxLength: 100 }))),
    metadata: Type.Optional(Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()])),
    externalRef: OptionalExternalRef,
  },
  { additionalProperties: false },
)
export type AddMemberInput = Static<typeof AddMemberBody>

export const CreateTimeEntryBody = Type.Object(
  { userId: Id, workDate: WorkDate, minutes: Minutes, description: Description, billable: Type.Optional(Type.Boolean()), externalRef: OptionalExternalRef },
  { additionalProperties: false },
)
export type CreateTimeEntryInput = Static<typeof CreateTimeEntryBody>

export const UpdateTimeEntryBody = Type.Object(
  { workDate: Type.Optional(WorkDate), minutes: Type.Optional(Minutes), description: Description, billable: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, minProperties: 1 },
)
export type UpdateTimeEntryInput = Static<typeof UpdateTimeEntryBody>

export const TimeSummaryQuery = Type.Object(
  { status: Type.Optional(Type.Union(TIME_ENTRY_STATUSES.map((s) => Type.Literal(s)))) },
  { additionalProperties: false },
)

export const CreateWikiPageBody = Type.Object(
  { title: Type.String({ minLength: 1, maxLength: 500 }), content: Type.String({ maxLength: 1_000_000 }), externalRef: OptionalExternalRef },
  { additionalProperties: false },
)
export type CreateWikiPageInput = Static<typeof CreateWikiPageBody>

export const UpdateWikiPageBody = Type.Object(
  { title: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })), content: Type.Optional(Type.String({ maxLength: 1_000_000 })) },
  { additionalProperties: false, minProperties: 1 },
)
export type UpdateWikiPageInput = Static<typeof UpdateWikiPageBody>

export const CreateWebhookBody = Type.Object(
  {
    destinationUrl: Type.String({ minLength: 1, maxLength: 2000, pattern: '^https?://' }),
    eventNames: Type.Array(Type.Union(WEBHOOK_EVENT_NAMES.map((e) => Type.Literal(e))), { minItems: 1, maxItems: WEBHOOK_EVENT_NAMES.length }),
    description: Type.Optional(Nullable(Type.String({ maxLength: 500 }))),
  },
  { additionalProperties: false },
)
export type CreateWebhookInput = Static<typeof CreateWebhookBody>

export const IntegrationLinksQuery = Type.Object(
  {
    page: Type.Optional(Type.Integer({ minimum: 1 })),
    pageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    externalType: Type.Optional(Type.String({ minLength: 1 })),
    externalId: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
)

// Control API

export const CreateOrgBody = Type.Object({ name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) }, { additionalProperties: false })

export const CreateKeyBody = Type.Object(
  { scope: Type.Union([Type.Literal('organization'), Type.Literal('project')]), projectId: Type.Optional(Id) },
  { additionalProperties: false },
)
export type CreateKeyInput = Static<typeof CreateKeyBody>

export const RejectBody = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 2000 }) }, { additionalProperties: false })

export const LogTimeEntryBody = Type.Object(
  { projectId: Id, userId: Id, workDate: WorkDate, minutes: Minutes, description: Description, billable: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
)
export type LogTimeEntryInput = Static<typeof LogTimeEntryBody>

export const EditTimeEntryBody = UpdateTimeEntryBody
export type EditTimeEntryInput = UpdateTimeEntryInput

export const MemberRateBody = Type.Object({ hourlyRateCents: Type.Integer({ minimum: 0, maximum: 100_000_000 }) }, { additionalProperties: false })

export const PlannedCostBody = Type.Object({ plannedCostCents: Type.Integer({ minimum: 0, maximum: 1e13 }) }, { additionalProperties: false })
