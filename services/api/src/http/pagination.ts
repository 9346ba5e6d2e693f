// Cursor pagination: a cursor is opaque to clients (base64url JSON of the last row's sort key), so the
// sort key can change without breaking them. A forged or stale-format cursor is a 400.
import { badRequest } from '@illumera/service-kit'
import { Type } from '@sinclair/typebox'
import { type SqlBool, sql } from 'kysely'

export const MAX_PAGE_SIZE = 200
export const DEFAULT_PAGE_SIZE = 50

export const PageQuery = {
  cursor: Type.Optional(Type.String({ maxLength: 500, description: 'nextCursor of the previous page' })),
  limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE }),
}

/** `at` is the timestamp as PostgreSQL printed it (microseconds kept: a JS Date would drop them and repeat rows). */
export interface TimeCursor {
  at: string
  id: string
}

export function encodeTimeCursor(at: string, id: string): string {
  return Buffer.from(JSON.stringify([at, id])).toString('base64url')
}

/** (column, id) after (or before) the cursor, comparing at full timestamp precision. */
export function keysetAfter(column: string, idColumn: string, cursor: TimeCursor, direction: '>' | '<' = '>') {
  return sql<SqlBool>`(${sql.ref(column)}, ${sql.ref(idColumn)}) ${sql.raw(direction)} (${cursor.at}::timestamptz, ${cursor.id})`
}

/** Select this beside the row to build its cursor. */
export function cursorText(column: string) {
  return sql<string>`${sql.ref(column)}::text`
}

export function decodeTimeCursor(cursor: string | undefined): TimeCursor | undefined {
  if (cursor === undefined) return undefined
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string') {
      if (/^\d{4}-\d{2}-\d{2} [\d:.]+[+-]\d{2}(:\d{2})?$/.test(value[0])) return { at: value[0], id: value[1] }
    }
  } catch {
    // fall through
  }
  throw badRequest('querystring/cursor is not a cursor this API issued', 'validation_error')
}

export function encodeSeqCursor(seq: string): string {
  return Buffer.from(JSON.stringify(['seq', seq])).toString('base64url')
}

export function decodeSeqCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (Array.isArray(value) && value[0] === 'seq' && typeof value[1] === 'string' && /^\d{1,19}$/.test(value[1])) return value[1]
  } catch {
    // fall through
  }
  throw badRequest('querystring/cursor is not a cursor this API issued', 'validation_error')
}

/** Fetch limit + 1 rows; the extra one only says whether another page exists. */
export function page<T, V>(rows: T[], limit: number, view: (row: T) => V, cursorOf: (row: T) => string): { data: V[]; nextCursor: string | null } {
  const more = rows.length > limit
  const items = more ? rows.slice(0, limit) : rows
  return { data: items.map(view), nextCursor: more ? cursorOf(items[items.length - 1]!) : null }
}
