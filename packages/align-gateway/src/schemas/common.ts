import { Type, type Static, type TSchema } from '@sinclair/typebox'

/** `T | null` */
export function Nullable<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()])
}

/** Illumera entity kinds that travel in `externalRef.externalType`. */
export const AlignExternalTypeSchema = Type.Union([
  Type.Literal('project'),
  Type.Literal('user'),
  Type.Literal('project_member'),
  Type.Literal('time_entry'),
  Type.Literal('wiki_page'),
])
export type AlignExternalType = Static<typeof AlignExternalTypeSchema>

/** The reference stored on an Align entity: which Illumera entity it mirrors. */
export const AlignExternalRefSchema = Type.Object({
  provider: Type.String(),
  externalType: Type.String(),
  externalId: Type.String(),
})
export type AlignExternalRef = Static<typeof AlignExternalRefSchema>

/**
 * What a create call takes: the Illumera entity it mirrors. `externalType` is fixed per method
 * (e.g. `'time_entry'` for createTimeEntry); the gateway adds `provider: "illumera"`.
 */
export function ExternalRefInput<K extends AlignExternalType>(kind: K) {
  return Type.Object({ externalType: Type.Literal(kind), externalId: Type.String({ minLength: 1 }) })
}
export interface AlignExternalRefInput<K extends AlignExternalType = AlignExternalType> {
  externalType: K
  externalId: string
}
