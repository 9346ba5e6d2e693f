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

/** A real calendar date, YYYY-MM-DD (the pattern alone accepts 2026-02-30). Arithmetic, not Date parsing: it runs per request. */
export function isCalendarDate(value: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value)
  if (!match) return false
  const year = Number(match[1]), month = Number(match[2]), day = Number(match[3])
  if (month < 1 || month > 12 || day < 1) return false
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
  return day <= (month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31)
}
