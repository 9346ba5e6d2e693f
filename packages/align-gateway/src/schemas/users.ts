import { Type, type Static } from '@sinclair/typebox'
import { AlignExternalRefSchema, ExternalRefInput, Nullable } from './common.js'

export const AlignUserStatusSchema = Type.Union([Type.Literal('invited'), Type.Literal('active')])

export const AlignUserSchema = Type.Object({
  id: Type.String(),
  organizationId: Type.String(),
  email: Type.String(),
  name: Type.String(),
  role: Type.String(),
  status: AlignUserStatusSchema,
  externalRef: Type.Optional(Nullable(AlignExternalRefSchema)),
  createdAt: Type.String(),
  updatedAt: Type.Optional(Type.String()),
})
export type AlignUser = Static<typeof AlignUserSchema>

export const AlignInviteUserInputSchema = Type.Object({
  email: Type.String({ minLength: 3 }),
  name: Type.String({ minLength: 1 }),
  /** Align role, e.g. `developer` (what Illumera assigns to talent). */
  role: Type.String({ minLength: 1 }),
  sendInvite: Type.Optional(Type.Boolean()),
  externalRef: ExternalRefInput('user'),
})
export type AlignInviteUserInput = Static<typeof AlignInviteUserInputSchema>

/** POST /users/invite: 201 with `created: true`, or 200 with the existing user and `created: false`. */
export const AlignInviteResultSchema = Type.Object({
  userId: Type.String(),
  inviteId: Type.String(),
  created: Type.Boolean(),
  status: AlignUserStatusSchema,
})
export type AlignInviteResult = Static<typeof AlignInviteResultSchema>

export const AlignBulkInviteItemSchema = Type.Object({
  email: Type.String({ minLength: 3 }),
  name: Type.String({ minLength: 1 }),
  role: Type.String({ minLength: 1 }),
  externalRef: ExternalRefInput('user'),
})
export type AlignBulkInviteItem = Static<typeof AlignBulkInviteItemSchema>

export const AlignBulkInviteInputSchema = Type.Object({
  invites: Type.Array(AlignBulkInviteItemSchema, { maxItems: 50 }),
  sendInvite: Type.Optional(Type.Boolean()),
})
export type AlignBulkInviteInput = Static<typeof AlignBulkInviteInputSchema>

/** One result per invite, in request order; a failed invite carries `error` and does not fail the others. */
export const AlignBulkInviteResultSchema = Type.Object({
  results: Type.Array(
    Type.Object({
      email: Type.String(),
      userId: Type.Optional(Type.String()),
      inviteId: Type.Optional(Type.String()),
      created: Type.Optional(Type.Boolean()),
      status: Type.Optional(AlignUserStatusSchema),
      error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
    }),
  ),
  successCount: Type.Integer({ minimum: 0 }),
  failureCount: Type.Integer({ minimum: 0 }),
})
export type AlignBulkInviteResult = Static<typeof AlignBulkInviteResultSchema>

export const AlignUserUpdateSchema = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1 })),
  email: Type.Optional(Type.String({ minLength: 3 })),
  role: Type.Optional(Type.String({ minLength: 1 })),
})
export type AlignUserUpdate = Static<typeof AlignUserUpdateSchema>
