// Every error the sandbox answers with, as the wire contract spells it:
// `{ error: { code, message, field? }, requestId }` with the status below.

export type SandboxErrorCode =
  | 'unauthorized'
  | 'forbidden'
  | 'validation_error'
  | 'not_found'
  | 'invalid_state'
  | 'idempotency_key_in_use'
  | 'idempotency_key_reused'
  | 'user_not_member'
  | 'too_many_invites'
  | 'rate_limited'
  | 'internal_error'

export class SandboxError extends Error {
  override name = 'SandboxError'
  constructor(
    readonly statusCode: number,
    readonly code: SandboxErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message)
  }
}

export function validationError(field: string, message: string): SandboxError {
  return new SandboxError(400, 'validation_error', message, field)
}

export function notFound(entity: string, id: string): SandboxError {
  return new SandboxError(404, 'not_found', `${entity} ${id} not found`)
}

export function invalidState(message: string): SandboxError {
  return new SandboxError(409, 'invalid_state', message)
}
