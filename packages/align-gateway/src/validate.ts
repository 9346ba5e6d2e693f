// Response checkers compiled once per schema (TypeCompiler emits a plain JS predicate), so
// validating a response costs about as much as walking it once.
import type { Static, TSchema } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'

export interface ResponseIssue {
  /** JSON pointer of the field, e.g. `/data/3/externalId`; empty for the body itself. */
  path: string
  message: string
}

export interface ResponseChecker<T> {
  check(value: unknown): value is T
  /** The first few mismatches, for the error message. */
  issues(value: unknown): ResponseIssue[]
}

const MAX_ISSUES = 5
// Never quote the value of a secret-bearing field in an error message.
const SECRET_PATH = /\/(hmacSecret|apiKey|secret)$/

/** A checker for `schema`, compiled on first use. */
export function responseChecker<T extends TSchema>(schema: T): ResponseChecker<Static<T>> {
  let compiled: TypeCheck<T> | undefined
  const get = (): TypeCheck<T> => (compiled ??= TypeCompiler.Compile(schema))
  return {
    check(value: unknown): value is Static<T> {
      return get().Check(value)
    },
    issues(value: unknown): ResponseIssue[] {
      const out: ResponseIssue[] = []
      for (const error of get().Errors(value)) {
        const got = SECRET_PATH.test(error.path) ? '' : ` (got ${describeValue(error.value)})`
        out.push({ path: error.path, message: `${error.message}${got}` })
        if (out.length >= MAX_ISSUES) break
      }
      return out
    },
  }
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return value.length > 40 ? `a string of ${value.length} chars` : JSON.stringify(value)
  if (typeof value === 'object') return 'an object'
  return `${typeof value} ${String(value)}`
}
