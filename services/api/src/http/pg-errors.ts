/** True for a PostgreSQL unique violation (optionally of one named constraint or index). */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string }
  return e?.code === '23505' && (constraint === undefined || e.constraint === constraint)
}

/**
 * True when PostgreSQL refused the statement with an ERROR: it ran and was rolled back, so nothing it wrote
 * stays. Not a FATAL (the session ended, perhaps after a commit) and not a connection failure (which may come
 * after the commit): then whether it wrote is unknown.
 */
export function isStatementRefused(err: unknown): boolean {
  const e = err as { severity?: unknown; code?: unknown }
  return e?.severity === 'ERROR' && typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)
}
