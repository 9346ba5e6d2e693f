import { Type, type Static } from '@sinclair/typebox'
import { Nullable } from './common.js'

/** GET /me: the key's identity and scope. */
export const AlignMeSchema = Type.Object({
  apiKeyId: Type.String(),
  organizationId: Type.String(),
  scope: Type.Union([Type.Literal('organization'), Type.Literal('project')]),
  scopedProjectId: Nullable(Type.String()),
  permissions: Type.Array(Type.String()),
  createdByUserId: Type.Optional(Nullable(Type.String())),
  lastUsedAt: Type.Optional(Nullable(Type.String())),
})
export type AlignMe = Static<typeof AlignMeSchema>
