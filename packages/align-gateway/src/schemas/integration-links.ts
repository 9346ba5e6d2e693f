import { Type, type Static } from '@sinclair/typebox'
import { AlignExternalRefSchema, Nullable } from './common.js'

/** An Align entity that carries an Illumera externalRef. */
export const AlignIntegrationLinkSchema = Type.Object({
  id: Type.String(),
  entityType: Type.String(),
  entityId: Type.String(),
  externalId: Type.String(),
  externalRef: Type.Optional(Nullable(AlignExternalRefSchema)),
  createdAt: Type.String(),
})
export type AlignIntegrationLink = Static<typeof AlignIntegrationLinkSchema>

export const AlignIntegrationLinkPageSchema = Type.Object({
  data: Type.Array(AlignIntegrationLinkSchema),
  total: Type.Integer({ minimum: 0 }),
  page: Type.Optional(Type.Integer({ minimum: 1 })),
  pageSize: Type.Optional(Type.Integer({ minimum: 1 })),
})
export type AlignIntegrationLinkPage = Static<typeof AlignIntegrationLinkPageSchema>
