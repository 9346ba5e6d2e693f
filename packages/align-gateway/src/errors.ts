// Every failure the gateway reports is an AlignApiError subclass built here, in one place
// (alignErrorFromResponse / alignConnectionError / alignResponseValidationError).
// None of them ever holds the API key or the Authorization header: the gateway never hands
// request headers to an error, and it scrubs the key from any foreign `cause` it wraps.
import { parseRetryAfter, type AlignRateLimit } from './rate-limit.js'

/** The request an error belongs to. `path` is relative to the base URL, without the query. */
export interface AlignErrorContext {
  method: string
  path: string
  requestId: string | null
  rateLimit: AlignRateLimit | null
}

export interface AlignApiErrorInit extends AlignErrorContext {
  status: number
  code: string
  body: unknown
  cause?: unknown
}

/**
 * Base class of every error the gateway throws for a request that did not succeed.
 *
 * @example
 * try { await align.getUser(id) } catch (err) {
 *   if (err instanceof AlignNotFoundError) return null
 *   if (err instanceof AlignApiError) log.warn({ status: err.status, code: err.code, requestId: err.requestId })
 *   throw err
 * }
 */
export class AlignApiError extends Error {
  override name = 'AlignApiError'
  /** HTTP status; 0 when no response arrived (AlignConnectionError). */
  readonly status: number
  /** Align's `error.code` (e.g. `invalid_state`), or ours: `timeout`, `connection_error`, `invalid_response`. */
  readonly code: string
  /** The parsed response body (the raw text when it was not JSON; null when there was none). */
  readonly body: unknown
  /** `X-Request-Id` of the response, for Align support. */
  readonly requestId: string | null
  readonly method: string
  /** Path relative to the base URL, e.g. `/projects/p_1/time-entries`. */
  readonly path: string
  /** Rate-limit headers of the failed response, when it had them. */
  readonly rateLimit: AlignRateLimit | null

  constructor(message: string, init: AlignApiErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause })
    this.status = init.status
    this.code = init.code
    this.body = init.body
    this.requestId = init.requestId
    this.method = init.method
    this.path = init.path
    this.rateLimit = init.rateLimit
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      message: this.message,
      status: this.status,
      code: this.code,
      requestId: this.requestId,
      method: this.method,
      path: this.path,
      body: this.body,
    }
  }
}

/** 429: the key's budget is spent. Not retried by the gateway: the caller owns pacing. */
export class AlignRateLimitError extends AlignApiError {
  override name = 'AlignRateLimitError'
  /** From `Retry-After` (seconds or HTTP date); else from `X-RateLimit-Reset`; else 60. */
  readonly retryAfterSeconds: number

  constructor(message: string, init: AlignApiErrorInit & { retryAfterSeconds: number }) {
    super(message, init)
    this.retryAfterSeconds = init.retryAfterSeconds
  }

  get retryAfterMs(): number {
    return this.retryAfterSeconds * 1000
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), retryAfterSeconds: this.retryAfterSeconds }
  }
}

/** 401 (missing, unknown or revoked key) or 403 (key not allowed here, e.g. project-scoped). */
export class AlignAuthError extends AlignApiError {
  override name = 'AlignAuthError'
}

/** 400 or 422: the request was refused as invalid; `message` names the field when Align did. */
export class AlignValidationError extends AlignApiError {
  override name = 'AlignValidationError'
  /** Align's `error.field`, when given. */
  readonly field: string | null

  constructor(message: string, init: AlignApiErrorInit & { field: string | null }) {
    super(message, init)
    this.field = init.field
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), field: this.field }
  }
}

export class AlignNotFoundError extends AlignApiError {
  override name = 'AlignNotFoundError'
}

/** 409: illegal state transition (`invalid_state`) or an idempotency key still in flight. */
export class AlignConflictError extends AlignApiError {
  override name = 'AlignConflictError'
}

/** 5xx. Retried for requests that are safe to repeat. */
export class AlignServerError extends AlignApiError {
  override name = 'AlignServerError'
}

/** No usable response: network failure or timeout (`code` tells which). `status` is 0. */
export class AlignConnectionError extends AlignApiError {
  override name = 'AlignConnectionError'
}

/** A 2xx response whose body is not JSON or does not match the documented shape. */
export class AlignResponseValidationError extends AlignApiError {
  override name = 'AlignResponseValidationError'
  /** JSON pointers of the offending fields with what was expected (first few only). */
  readonly issues: ReadonlyArray<{ path: string; message: string }>

  constructor(message: string, init: AlignApiErrorInit & { issues: Array<{ path: string; message: string }> }) {
    super(message, init)
    this.issues = init.issues
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), issues: this.issues }
  }
}

interface AlignErrorBody {
  code: string | null
  message: string | null
  field: string | null
  requestId: string | null
}

function readErrorBody(body: unknown): AlignErrorBody {
  const out: AlignErrorBody = { code: null, message: null, field: null, requestId: null }
  if (typeof body !== 'object' || body === null) return out
  const record = body as Record<string, unknown>
  if (typeof record.requestId === 'string') out.requestId = record.requestId
  const error = record.error
  if (typeof error === 'object' && error !== null) {
    const e = error as Record<string, unknown>
    if (typeof e.code === 'string') out.code = e.code
    if (typeof e.message === 'string') out.message = e.message
    if (typeof e.field === 'string') out.field = e.field
  } else if (typeof error === 'string') {
    out.message = error
  }
  return out
}

function defaultCode(status: number): string {
  if (status === 400) return 'validation_error'
  if (status === 401) return 'unauthorized'
  if (status === 403) return 'forbidden'
  if (status === 404) return 'not_found'
  if (status === 409) return 'conflict'
  if (status === 422) return 'unprocessable_entity'
  if (status === 429) return 'rate_limited'
  if (status >= 500) return 'internal_error'
  return 'http_error'
}

export interface AlignErrorResponse extends AlignErrorContext {
  status: number
  /** The parsed JSON body, or the raw text when it was not JSON. */
  body: unknown
  /** The `Retry-After` header value, if any. */
  retryAfter?: string | string[] | undefined
  now?: Date
}

/**
 * Builds the error for a non-2xx response: one subclass per kind, chosen by status.
 */
export function alignErrorFromResponse(response: AlignErrorResponse): AlignApiError {
  const { status, method, path, rateLimit } = response
  const parsed = readErrorBody(response.body)
  const code = parsed.code ?? defaultCode(status)
  const requestId = response.requestId ?? parsed.requestId
  const detail = parsed.message ?? (typeof response.body === 'string' && response.body ? response.body.slice(0, 200) : null)
  const message = `Align ${method} ${path} failed with ${status} ${code}${detail ? `: ${detail}` : ''}`
  const init: AlignApiErrorInit = { status, code, body: response.body, requestId, method, path, rateLimit }

  if (status === 429) {
    const now = response.now ?? new Date()
    let retryAfterSeconds = parseRetryAfter(response.retryAfter, now)
    if (retryAfterSeconds === null && rateLimit) {
      retryAfterSeconds = Math.max(1, Math.ceil((rateLimit.resetAt.getTime() - now.getTime()) / 1000))
    }
    return new AlignRateLimitError(message, { ...init, retryAfterSeconds: retryAfterSeconds ?? 60 })
  }
  if (status === 401 || status === 403) return new AlignAuthError(message, init)
  if (status === 400 || status === 422) return new AlignValidationError(message, { ...init, field: parsed.field })
  if (status === 404) return new AlignNotFoundError(message, init)
  if (status === 409) return new AlignConflictError(message, init)
  if (status >= 500) return new AlignServerError(message, init)
  return new AlignApiError(message, init)
}

/** Builds the error for a request that got no usable response (`cause` is the original error). */
export function alignConnectionError(
  context: AlignErrorContext,
  kind: 'timeout' | 'connection_error',
  detail: string,
  cause: unknown,
): AlignConnectionError {
  const message =
    kind === 'timeout'
      ? `Align ${context.method} ${context.path} timed out: ${detail}`
      : `Align ${context.method} ${context.path} failed before a response: ${detail}`
  return new AlignConnectionError(message, { ...context, status: 0, code: kind, body: null, cause })
}

/** Builds the error for a 2xx response whose body is not the documented shape. */
export function alignResponseValidationError(
  context: AlignErrorContext,
  status: number,
  body: unknown,
  issues: Array<{ path: string; message: string }>,
): AlignResponseValidationError {
  const first = issues[0]
  const what = first ? `${first.path || '(body)'}: ${first.message}` : 'unreadable body'
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''
  const message = `Align ${context.method} ${context.path} returned ${status} with an unexpected body: ${what}${more}`
  return new AlignResponseValidationError(message, {
    ...context,
    status,
    code: 'invalid_response',
    body: redactSecretFields(body),
    issues,
  })
}

const REDACTED = '[REDACTED]'
const SECRET_FIELDS = new Set(['hmacSecret', 'apiKey', 'secret'])

/** A copy of a response body with secret-bearing fields (a webhook's `hmacSecret`) replaced. */
function redactSecretFields(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body
  let copy: Record<string, unknown> | null = null
  for (const key of Object.keys(body)) {
    if (SECRET_FIELDS.has(key)) {
      copy ??= { ...(body as Record<string, unknown>) }
      copy[key] = REDACTED
    }
  }
  return copy ?? body
}

/**
 * Removes every occurrence of the secrets (longest first: `Bearer <key>` before `<key>`) from an
 * error we did not build (e.g. an undici error whose message quotes request headers) and from its
 * cause chain: message, stack and own string fields. The object is kept, so the original error
 * stays available as `cause`.
 */
export function scrubSecretsFromError(error: unknown, secrets: readonly string[]): void {
  const ordered = secrets.filter((s) => s.length > 0).sort((a, b) => b.length - a.length)
  if (ordered.length) scrubValue(error, ordered, 0, new Set())
}

/** `text` with every secret replaced (longest first). */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length && out.includes(secret)) out = out.split(secret).join(REDACTED)
  }
  return out
}

function scrubValue(value: unknown, secrets: readonly string[], depth: number, seen: Set<object>): void {
  // Bounded: foreign errors may point into large graphs (sockets, agents).
  if (depth > 4 || seen.size > 200 || typeof value !== 'object' || value === null || seen.has(value)) return
  seen.add(value)
  const record = value as Record<string, unknown>
  for (const key of Object.getOwnPropertyNames(record)) {
    let field: unknown
    try {
      field = record[key]
    } catch {
      continue
    }
    if (typeof field === 'string') {
      const clean = scrubSecrets(field, secrets)
      if (clean !== field) {
        try {
          record[key] = clean
        } catch {
          // a read-only field: nothing we can do without replacing the error
        }
      }
    } else if (typeof field === 'object' && field !== null) {
      scrubValue(field, secrets, depth + 1, seen)
    }
  }
}
