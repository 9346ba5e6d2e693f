/** True for a PostgreSQL unique violation (optionally of one named constraint or index). */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string }
  return e?.code === '23505' && (constraint === undefined || e.constraint === constraint)
}

// SQLSTATE classes after which a statement's outcome is unknown: the connection broke (08), the server was shut
// down or the session ended (57), a system or internal error (58, XX). The commit may or may not have happened.
const OUTCOME_UNKNOWN_CLASSES = new Set(['08', '57', '58', 'XX'])

/**
 * True when PostgreSQL refused the statement with an error response (a constraint, a raised exception, a lock
 * timeout…): it ran and was rolled back, so nothing it wrote stays. False for a FATAL or PANIC (the session
 * ended, perhaps after a commit), for the classes above, and for anything that is not PostgreSQL's answer (a
 * socket error): then whether it wrote is unknown. The SQLSTATE decides, since the severity text is localized
 * by the server's lc_messages.
 */
export function isStatementRefused(err: unknown): boolean {
  const e = err as { severity?: unknown; code?: unknown }
  if (typeof e?.severity !== 'string' || typeof e.code !== 'string' || !/^[0-9A-Z]{5}$/.test(e.code)) return false
  if (e.severity === 'FATAL' || e.severity === 'PANIC') return false
  return !OUTCOME_UNKNOWN_CLASSES.has(e.code.slice(0, 2))
}
