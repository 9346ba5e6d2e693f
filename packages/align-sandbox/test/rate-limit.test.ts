// The sliding window: X-RateLimit-* on every answer, 429 + Retry-After beyond the limit, per key,
// and a window that slides (tested on the limiter with explicit times).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AlignSandbox } from '../src/index.js'
import { SlidingWindowRateLimiter } from '../src/rate-limiter.js'
import { call, startSandbox } from './helpers/http.js'

let sb: AlignSandbox

beforeAll(async () => {
  sb = await startSandbox({ rateLimitPerMinute: 5 })
})
afterAll(() => sb.close())

describe('rate limit over HTTP', () => {
  it('counts down, refuses the sixth request with 429 and Retry-After, per key', async () => {
    const { apiKey, organizationId } = await sb.control.createOrg()
    const remaining: number[] = []
    for (let i = 0; i < 5; i++) {
      const res = await call(sb, 'GET', '/me', { key: apiKey })
      expect(res.status).toBe(200)
      expect(res.headers.get('x-ratelimit-limit')).toBe('5')
      remaining.push(Number(res.headers.get('x-ratelimit-remaining')))
      const reset = Number(res.headers.get('x-ratelimit-reset'))
      expect(reset).toBeGreaterThan(Date.now() / 1000)
      expect(reset).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 60)
    }
    expect(remaining).toEqual([4, 3, 2, 1, 0])
    const limited = await call(sb, 'GET', '/me', { key: apiKey })
    expect(limited.status).toBe(429)
    expect(limited.body.error.code).toBe('rate_limited')
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0')
    const retryAfter = Number(limited.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(60)
    // Errors count too, and every answer carries the headers.
    const { apiKey: second } = await sb.control.createKey(organizationId, { scope: 'organization' })
    const bad = await call(sb, 'POST', '/projects', { key: second, body: {} })
    expect(bad.status).toBe(400)
    expect(bad.headers.get('x-ratelimit-remaining')).toBe('4')
  })

  it('the rateLimitPerMinute fault overrides the limit, and null turns limiting off', async () => {
    const { apiKey } = await sb.control.createOrg()
    await sb.control.setFaults({ rateLimitPerMinute: 2 })
    expect((await call(sb, 'GET', '/me', { key: apiKey })).headers.get('x-ratelimit-limit')).toBe('2')
    await call(sb, 'GET', '/me', { key: apiKey })
    expect((await call(sb, 'GET', '/me', { key: apiKey })).status).toBe(429)
    await sb.control.clearFaults()
    const off = await startSandbox({ rateLimitPerMinute: null })
    try {
      const org = await off.control.createOrg()
      for (let i = 0; i < 20; i++) expect((await call(off, 'GET', '/me', { key: org.apiKey })).status).toBe(200)
      expect((await call(off, 'GET', '/me', { key: org.apiKey })).headers.get('x-ratelimit-limit')).toBeNull()
    } finally {
      await off.close()
    }
  })
})

describe('SlidingWindowRateLimiter', () => {
  it('slides: a slot frees exactly 60 s after the request that used it', () => {
    const limiter = new SlidingWindowRateLimiter()
    const t0 = 1_000_000
    expect(limiter.take('k', 3, t0).remaining).toBe(2)
    expect(limiter.take('k', 3, t0 + 10_000).remaining).toBe(1)
    expect(limiter.take('k', 3, t0 + 20_000)).toMatchObject({ allowed: true, remaining: 0, resetAt: Math.ceil((t0 + 60_000) / 1000) })
    const refused = limiter.take('k', 3, t0 + 30_000)
    expect(refused).toMatchObject({ allowed: false, remaining: 0, retryAfter: 30 })
    // Refused requests are not recorded: at t0 + 60 s the first slot is free again.
    expect(limiter.take('k', 3, t0 + 59_999).allowed).toBe(false)
    expect(limiter.take('k', 3, t0 + 60_000)).toMatchObject({ allowed: true, remaining: 0, resetAt: Math.ceil((t0 + 70_000) / 1000) })
    expect(limiter.take('k', 3, t0 + 60_001).allowed).toBe(false)
    expect(limiter.take('other', 3, t0 + 60_001).allowed).toBe(true)
  })

  it('a lowered limit waits until enough requests have left the window', () => {
    const limiter = new SlidingWindowRateLimiter()
    for (let i = 0; i < 10; i++) limiter.take('k', 100, i * 1000)
    const refused = limiter.take('k', 3, 10_000)
    // 10 recorded at 0..9 s; with limit 3 the 8th (at 7 s) must leave: at 67 s → 57 s from now.
    expect(refused).toMatchObject({ allowed: false, retryAfter: 57 })
  })
})
