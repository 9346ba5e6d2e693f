import { Type, type Static } from '@sinclair/typebox'
import { AlignExternalRefSchema, ExternalRefInput, Nullable } from './common.js'

export const AlignWikiPageSchema = Type.Object({
  id: Type.String(),
  projectId: Type.String(),
  title: Type.String(),
  content: Type.String(),
  externalRef: Type.Optional(Nullable(AlignExternalRefSchema)),
  createdAt: Type.String(),
  updatedAt: Type.Optional(Type.String()),
})
export type AlignWikiPage = Static<typeof AlignWikiPageSchema>

export const AlignCreateWikiPageInputSchema = Type.Object({
  title: Type.String({ minLength: 1 }),
  /** Markdown. */
  content: Type.String(),
  externalRef: ExternalRefInput('wiki_page'),
})
export type AlignCreateWikiPageInput = Static<typeof AlignCreateWikiPageInputSchema>

export const AlignWikiPageUpdateSchema = Type.Object({
  title: Type.Optional(Type.String({ minLength: 1 })),
  content: Type.Optional(Type.String()),
})
export type AlignWikiPageUpdate = Static<typeof AlignWikiPageUpdateSchema>
