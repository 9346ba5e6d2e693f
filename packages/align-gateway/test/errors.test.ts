import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import {
  AlignApiError,
  AlignAuthError,
  AlignConflictError,
  AlignNotFoundError,
  AlignRateLimitError,
  AlignServerError,
  AlignValidationError,
  alignErrorFromResponse,
  parseRateLimitHeaders,
  parseRetryAfter,
} from '../src/index.js'

const base = { method: 'POST', path: '/projects', requestId: 'req-1', rateLimit: null }
const body = (code: string, message = 'nope', field?: string) => ({ error: { code, message, field }, requestId: 'req-body' })

describe('alignErrorFromResponse', () => {
  it.each([
    [400, AlignValidationError, 'validation_error'],
    [401, AlignAuthError, 'unauthorized'],
    [403, AlignAuthError, 'forbidden'],
    [404, AlignNotFoundError, 'not_found'],
    [409, AlignConflictError, 'invalid_state'],
    [422, AlignValidationError, 'user_not_member'],
    [429, AlignRateLimitError, 'rate_limited'],
    [500, AlignServerError, 'internal_error'],
    [503, AlignServerError, 'internal_error'],
  ] as const)('maps %i to %s', (status, Class, code) => {
    const error = alignErrorFromResponse({ ...base, status, body: body(code, 'name is required') })
    expect(error).toBeInstanceOf(Class)
    expect(error).toBeInstanceOf(AlignApiError)
    expect(error.name).toBe(Class.name)
    expect(error).toMatchObject({ status, code, method: 'POST', path: '/projects', requestId: 'req-1' })
    expect(error.message).toBe(`Align POST /projects failed with ${status} ${code}: name is required`)
  })

  it('keeps the field Align named on validation errors', () => {
    const error = alignErrorFromResponse({ ...base, status: 400, body: body('validation_error', 'minutes must be > 0', 'minutes') })
    expect(error).toBeInstanceOf(AlignValidationError)
    expect((error as AlignValidationError).field).toBe('minutes')
  })

  it('falls back to a code by status and the body requestId when the response lacks them', () => {
    const error = alignErrorFromResponse({ ...base, requestId: null, status: 502, body: '<html>bad gateway</html>' })
    expect(error).toMatchObject({ code: 'internal_error', requestId: null, body: '<html>bad gateway</html>' })
    expect(error.message).toContain('bad gateway')
    const withBodyId = alignErrorFromResponse({ ...base, requestId: null, status: 404, body: body('not_found') })
    expect(withBodyId.requestId).toBe('req-body')
    expect(alignErrorFromResponse({ ...base, status: 418, body: null }).constructor).toBe(AlignApiError)
  })

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = new Date('2026-01-10T12:00:00Z')
    const seconds = alignErrorFromResponse({ ...base, status: 429, body: null, retryAfter: '7', now }) as AlignRateLimitError
    expect(seconds.retryAfterSeconds).toBe(7)
    expect(seconds.retryAfterMs).toBe(7000)
    const date = alignErrorFromResponse({ ...base, status: 429, body: null, retryAfter: 'Sat, 10 Jan 2026 12:00:42 GMT', now }) as AlignRateLimitError
    expect(date.retryAfterSeconds).toBe(42)
  })

  it('without Retry-After, waits until X-RateLimit-Reset, else a full window', () => {
    const now = new Date('2026-01-10T12:00:00Z')
    const rateLimit = { limit: 600, remaining: 0, resetAt: new Date(now.getTime() + 12_500) }
    const fromReset = alignErrorFromResponse({ ...base, rateLimit, status: 429, body: null, now }) as AlignRateLimitError
    expect(fromReset.retryAfterSeconds).toBe(13)
    const none = alignErrorFromResponse({ ...base, status: 429, body: null, now }) as AlignRateLimitError
    expect(none.retryAfterSeconds).toBe(60)
  })

  it('serialises to JSON with its fields and survives util.inspect', () => {
    const error = alignErrorFromResponse({ ...base, status: 429, body: body('rate_limited'), retryAfter: '3' })
    const json = JSON.parse(JSON.stringify(error))
    expect(json).toMatchObject({ name: 'AlignRateLimitError', status: 429, code: 'rate_limited', retryAfterSeconds: 3, path: '/projects' })
    expect(inspect(error)).toContain('AlignRateLimitError')
  })
})

describe('rate-limit parsing', () => {
  it('parses the three headers into limit, remaining and resetAt', () => {
    expect(parseRateLimitHeaders({ 'x-ratelimit-limit': '600', 'x-ratelimit-remaining': '17', 'x-ratelimit-reset': '1767000000' })).toEqual({
      limit: 600,
      remaining: 17,
      resetAt: new Date(1_767_000_000_000),
    })
  })

  it('returns null when a header is missing or not a number', () => {
    expect(parseRateLimitHeaders({ 'x-ratelimit-limit': '600', 'x-ratelimit-remaining': '1' })).toBeNull()
    expect(parseRateLimitHeaders({ 'x-ratelimit-limit': 'lots', 'x-ratelimit-remaining': '1', 'x-ratelimit-reset': '1' })).toBeNull()
  })

  it('parses Retry-After forms and rejects garbage', () => {
    const now = new Date('2026-01-10T12:00:00Z')
    expect(parseRetryAfter('0', now)).toBe(0)
    expect(parseRetryAfter('2.2', now)).toBe(3)
    expect(parseRetryAfter('Sat, 10 Jan 2026 11:00:00 GMT', now)).toBe(0)
    expect(parseRetryAfter('soon', now)).toBeNull()
    expect(parseRetryAfter(undefined, now)).toBeNull()
  })
})
