// The transport under AlignGateway: one HTTP exchange per attempt over a shared keep-alive
// pool, a total timeout per attempt, retries for requests that are safe to repeat, and the
// translation of every outcome into a value or an AlignApiError.
//
// Glossary
// - attempt: one HTTP exchange; a call makes 1 + at most maxRetries attempts.
// - safe to repeat: GET, DELETE, or a POST/PATCH with an Idempotency-Key (Align replays the
//   stored response for the same key and body, so a repeat cannot create a duplicate).
// - retryable failure: no usable response (network error, timeout) or a 5xx. Never a 4xx; a 429
//   is thrown at once because the caller owns pacing.
import type { EventEmitter } from 'node:events'
import { Pool, type Dispatcher } from 'undici'
import {
  AlignConnectionError,
  AlignServerError,
  alignConnectionError,
  alignErrorFromResponse,
  alignResponseValidationError,
  scrubSecrets,
  scrubSecretsFromError,
  type AlignErrorContext,
} from './errors.js'
import { parseRateLimitHeaders, type AlignRateLimit } from './rate-limit.js'
import type { ResponseChecker } from './validate.js'

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE'

/** What `onResponse` receives once per HTTP attempt: no header, body or credential. */
export interface AlignResponseInfo {
  method: HttpMethod
  /** Path relative to the base URL, without the query. */
  path: string
  /** HTTP status; 0 when the attempt got no response (network error, timeout, abort). */
  status: number
  durationMs: number
  /** 1 for the first attempt, 2 for the first retry, … */
  attempt: number
  requestId: string | null
  rateLimit: AlignRateLimit | null
}

export interface TransportOptions {
  apiKey: string
  baseUrl: string
  timeoutMs: number
  maxRetries: number
  retryBaseDelayMs: number
  retryMaxDelayMs: number
  dispatcher: Dispatcher | undefined
  onResponse: ((info: AlignResponseInfo) => void) | undefined
  userAgent: string
}

export interface RequestSpec<T> {
  method: HttpMethod
  /** Relative to the base URL, ids already encoded; no query. */
  path: string
  /** `''` or `'?a=1&b=2'`. */
  query?: string
  /** A JSON value; undefined sends no body. */
  body?: unknown
  idempotencyKey?: string | undefined
  signal?: AbortSignal | undefined
  /** null when the endpoint answers 204 without a body. */
  checker: ResponseChecker<T> | null
}

// One keep-alive pool per origin, shared by every gateway in the process.
const pools = new Map<string, Pool>()

function sharedPool(origin: string): Pool {
  let pool = pools.get(origin)
  if (!pool || pool.closed || pool.destroyed) {
    pool = new Pool(origin, { keepAliveTimeout: 10_000 })
    pools.set(origin, pool)
  }
  return pool
}

/**
 * Closes the keep-alive pools shared by gateways that use the default dispatcher (for a clean
 * shutdown). Gateways keep working afterwards: their next request opens a new pool.
 *
 * @example
 * await app.close()
 * await closeAlignPools()
 */
export async function closeAlignPools(): Promise<void> {
  const all = [...pools.values()]
  pools.clear()
  await Promise.all(all.map((pool) => pool.close()))
}

/** The rejection for a cancelled call: the signal's reason (an `AbortError` DOMException by default). */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError')
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal))
    const onAbort = () => {
      clearTimeout(timer)
      reject(abortReason(signal!))
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

function headerString(value: string | string[] | undefined): string | null {
  if (value === undefined) return null
  return Array.isArray(value) ? (value[0] ?? null) : value
}

function describeCause(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    return typeof code === 'string' ? `${code}: ${error.message}` : `${error.name}: ${error.message}`
  }
  return String(error)
}

/**
 * The per-attempt cancel handle given to undici, which accepts an EventEmitter-shaped signal.
 * It carries both the attempt's timeout and the caller's AbortSignal, and costs far less per
 * request than an AbortController (whose EventTarget listeners showed in the bench profile).
 */
class AttemptSignal {
  aborted = false
  reason: unknown = undefined
  #listener: (() => void) | null = null

  on(_event: 'abort', listener: () => void): this {
    this.#listener = listener
    return this
  }

  once(event: 'abort', listener: () => void): this {
    return this.on(event, listener)
  }

  removeListener(_event: 'abort', listener: () => void): this {
    if (this.#listener === listener) this.#listener = null
    return this
  }

  abort(reason: unknown): void {
    if (this.aborted) return
    this.aborted = true
    this.reason = reason
    const listener = this.#listener
    this.#listener = null
    listener?.()
  }
}

export class AlignTransport {
  readonly #apiKey: string
  readonly #authorization: string
  readonly #origin: string
  readonly #prefix: string
  readonly #options: TransportOptions
  readonly #dispatcher: Dispatcher | undefined
  #lastHeaders: Record<string, string | string[] | undefined> | null = null
  #lastRateLimit: AlignRateLimit | null = null

  constructor(options: TransportOptions) {
    const url = new URL(options.baseUrl)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`baseUrl must be an http(s) URL, got protocol ${url.protocol}`)
    }
    this.#apiKey = options.apiKey
    this.#authorization = `Bearer ${options.apiKey}`
    this.#origin = url.origin
    this.#prefix = url.pathname.replace(/\/+$/, '')
    this.#options = options
    this.#dispatcher = options.dispatcher
    if (!this.#dispatcher) sharedPool(url.origin)
  }

  get baseUrl(): string {
    return this.#origin + this.#prefix
  }

  /** Rate-limit headers of the most recent response that had them (parsed on first read). */
  get lastRateLimit(): AlignRateLimit | null {
    if (this.#lastHeaders) {
      const parsed = parseRateLimitHeaders(this.#lastHeaders)
      if (parsed) this.#lastRateLimit = parsed
      this.#lastHeaders = null
    }
    return this.#lastRateLimit
  }

  request<T>(spec: RequestSpec<T>): Promise<T> {
    const payload = spec.body === undefined ? undefined : JSON.stringify(spec.body)
    const safeToRepeat = spec.method === 'GET' || spec.method === 'DELETE' || spec.idempotencyKey !== undefined
    const maxAttempts = safeToRepeat ? 1 + this.#options.maxRetries : 1
    const first = this.#attempt(spec, payload, 1)
    // The common case (first attempt succeeds) adds no async frame of its own.
    return maxAttempts === 1 ? first : first.catch((error: unknown) => this.#retry(spec, payload, error, maxAttempts))
  }

  async #retry<T>(spec: RequestSpec<T>, payload: string | undefined, firstError: unknown, maxAttempts: number): Promise<T> {
    let error = firstError
    for (let attempt = 2; ; attempt++) {
      const retryable = error instanceof AlignConnectionError || error instanceof AlignServerError
      if (!retryable || attempt > maxAttempts) throw error
      await sleep(this.#backoffMs(attempt - 1), spec.signal)
      try {
        return await this.#attempt(spec, payload, attempt)
      } catch (next) {
        error = next
      }
    }
  }

  /** Exponential backoff with equal jitter: half the delay fixed, half random. */
  #backoffMs(attempt: number): number {
    const { retryBaseDelayMs, retryMaxDelayMs } = this.#options
    const delay = Math.min(retryMaxDelayMs, retryBaseDelayMs * 2 ** (attempt - 1))
    return delay / 2 + Math.random() * (delay / 2)
  }

  async #attempt<T>(spec: RequestSpec<T>, payload: string | undefined, attempt: number): Promise<T> {
    const { method, path, signal } = spec
    if (signal?.aborted) throw abortReason(signal)
    const started = this.#options.onResponse ? performance.now() : 0
    const headers: Record<string, string> = {
      authorization: this.#authorization,
      accept: 'application/json',
      'user-agent': this.#options.userAgent,
    }
    if (payload !== undefined) headers['content-type'] = 'application/json'
    if (spec.idempotencyKey !== undefined) headers['idempotency-key'] = spec.idempotencyKey

    const cancel = new AttemptSignal()
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      cancel.abort(new Error(`attempt timed out after ${this.#options.timeoutMs} ms`))
    }, this.#options.timeoutMs)
    const onCallerAbort = signal ? () => cancel.abort(abortReason(signal)) : undefined
    if (onCallerAbort) signal!.addEventListener('abort', onCallerAbort, { once: true })

    let status: number
    let responseHeaders: Record<string, string | string[] | undefined>
    let text: string
    try {
      // The shared pool is looked up per request, so closeAlignPools() never strands a gateway.
      const response = await (this.#dispatcher ?? sharedPool(this.#origin)).request({
        origin: this.#origin,
        path: this.#prefix + path + (spec.query ?? ''),
        method,
        headers,
        body: payload,
        signal: cancel as unknown as EventEmitter,
      })
      status = response.statusCode
      responseHeaders = response.headers
      text = await response.body.text()
    } catch (error) {
      const context: AlignErrorContext = { method, path, requestId: null, rateLimit: null }
      this.#report(method, path, 0, started, attempt, null, null)
      if (signal?.aborted) throw abortReason(signal)
      scrubSecretsFromError(error, [this.#authorization, this.#apiKey])
      if (timedOut) {
        throw alignConnectionError(context, 'timeout', `no complete response within ${this.#options.timeoutMs} ms`, error)
      }
      throw alignConnectionError(context, 'connection_error', describeCause(error), error)
    } finally {
      clearTimeout(timer)
      if (onCallerAbort) signal!.removeEventListener('abort', onCallerAbort)
    }

    const requestId = headerString(responseHeaders['x-request-id'])
    let rateLimit: AlignRateLimit | null = null
    if (this.#options.onResponse !== undefined || status < 200 || status >= 300) {
      rateLimit = parseRateLimitHeaders(responseHeaders)
      if (rateLimit) this.#lastRateLimit = rateLimit
      this.#lastHeaders = null
    } else {
      // Parsed only if someone reads lastRateLimit: keeps the success path free of Date work.
      this.#lastHeaders = responseHeaders
    }
    if (status >= 200 && status < 300) {
      this.#report(method, path, status, started, attempt, requestId, rateLimit)
      if (spec.checker === null) return undefined as T
      let value: unknown
      try {
        value = JSON.parse(text)
      } catch {
        const shown = text.length > 120 ? `${text.slice(0, 120)}…` : text
        const context: AlignErrorContext = { method, path, requestId, rateLimit: this.lastRateLimit }
        throw alignResponseValidationError(context, status, text, [
          { path: '', message: `body is not JSON (${text.length ? JSON.stringify(shown) : 'empty'})` },
        ])
      }
      if (!spec.checker.check(value)) {
        const context: AlignErrorContext = { method, path, requestId, rateLimit: this.lastRateLimit }
        throw alignResponseValidationError(context, status, value, spec.checker.issues(value))
      }
      return value
    }

    this.#report(method, path, status, started, attempt, requestId, rateLimit)
    const safeText = text.includes(this.#apiKey) ? scrubSecrets(text, [this.#authorization, this.#apiKey]) : text
    let body: unknown = safeText.length ? safeText : null
    try {
      if (safeText.length) body = JSON.parse(safeText)
    } catch {
      // keep the raw text
    }
    throw alignErrorFromResponse({
      method,
      path,
      requestId,
      rateLimit,
      status,
      body,
      retryAfter: responseHeaders['retry-after'],
    })
  }

  #report(
    method: HttpMethod,
    path: string,
    status: number,
    started: number,
    attempt: number,
    requestId: string | null,
    rateLimit: AlignRateLimit | null,
  ): void {
    const hook = this.#options.onResponse
    if (!hook) return
    try {
      hook({ method, path, status, durationMs: performance.now() - started, attempt, requestId, rateLimit })
    } catch {
      // A logging hook must not change the outcome of the call.
    }
  }
}
