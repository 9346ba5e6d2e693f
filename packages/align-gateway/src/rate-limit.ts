// Align's rate-limit headers (600 requests per minute per key, sliding window), parsed into a
// small value so callers can pace themselves before they meet a 429.

/** The budget Align reported on a response. */
export interface AlignRateLimit {
  /** Requests allowed per window (`X-RateLimit-Limit`). */
  limit: number
  /** Requests left in the current window (`X-RateLimit-Remaining`). */
  remaining: number
  /** When the oldest request in the window leaves it (`X-RateLimit-Reset`, unix seconds). */
  resetAt: Date
}

type HeaderValue = string | string[] | undefined

function firstValue(value: HeaderValue): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

/**
 * Parses `X-RateLimit-Limit/Remaining/Reset` (names as undici reports them: lower case).
 * Returns null when any of the three is absent or not a number.
 */
export function parseRateLimitHeaders(headers: Record<string, HeaderValue>): AlignRateLimit | null {
  const limitRaw = firstValue(headers['x-ratelimit-limit'])
  const remainingRaw = firstValue(headers['x-ratelimit-remaining'])
  const resetRaw = firstValue(headers['x-ratelimit-reset'])
  if (limitRaw === undefined || remainingRaw === undefined || resetRaw === undefined) return null
  const limit = Number(limitRaw)
  const remaining = Number(remainingRaw)
  const reset = Number(resetRaw)
  if (!Number.isFinite(limit) || !Number.isFinite(remaining) || !Number.isFinite(reset)) return null
  return { limit, remaining, resetAt: new Date(reset * 1000) }
}

/**
 * Seconds to wait according to `Retry-After`, which is either whole seconds or an HTTP date.
 * Returns null when the header is absent or unreadable. Never negative.
 */
export function parseRetryAfter(value: HeaderValue, now: Date = new Date()): number | null {
  const raw = firstValue(value)?.trim()
  if (!raw) return null
  if (/^\d+(\.\d+)?$/.test(raw)) return Math.ceil(Number(raw))
  const at = Date.parse(raw)
  if (Number.isNaN(at)) return null
  return Math.max(0, Math.ceil((at - now.getTime()) / 1000))
}
