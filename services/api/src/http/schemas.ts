import { Type } from '@sinclair/typebox'

export const ErrorBodySchema = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String(),
  code: Type.Optional(Type.String()),
})

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) })

export const Timestamp = Type.String({ description: 'ISO 8601 timestamp' })
export const NullableString = Type.Union([Type.String(), Type.Null()])

export function pageOf<T extends ReturnType<typeof Type.Object>>(item: T) {
  return Type.Object({ data: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) })
}

/** Error responses every authenticated route documents. */
export const authErrors = {
  400: ErrorBodySchema,
  401: ErrorBodySchema,
  403: ErrorBodySchema,
  404: ErrorBodySchema,
  409: ErrorBodySchema,
}

/** A real calendar date, YYYY-MM-DD (the pattern alone accepts 2026-02-30). */
export function isCalendarDate(value: string): boolean {
  const date = new Date(`${value}T00:00:00Z`)
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value
}
