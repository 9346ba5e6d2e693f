import { createHmac, randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { signAlignWebhook, verifyAlignWebhook } from '../src/index.js'
import { buildAlignWebhookRequest } from '../src/testing.js'

const secret = 'whsec_' + 'a1'.repeat(24)
const other = 'whsec_' + 'b2'.repeat(24)
const rawBody = Buffer.from(JSON.stringify({ organizationId: 'org-1', data: { id: 'te-1' } }))
const now = new Date('2026-01-10T12:00:00Z')
const nowSeconds = Math.floor(now.getTime() / 1000)

function signed(overrides: Partial<Parameters<typeof signAlignWebhook>[0]> = {}) {
  return signAlignWebhook({ secret, rawBody, timestamp: nowSeconds, deliveryId: 'd-1', event: 'time.approved', ...overrides })
}

describe('signAlignWebhook', () => {
  it('returns the four lower-case headers with sha256=<hex HMAC of the raw body>', () => {
    const headers = signed()
    const expected = 'sha256=' + createHmac('sha256', secret).update(rawBody).digest('hex')
    expect(headers).toEqual({
      'x-align-delivery-id': 'd-1',
      'x-align-event': 'time.approved',
      'x-align-timestamp': String(nowSeconds),
      'x-align-signature': expected,
    })
  })

  it('accepts a Date timestamp and a string body', () => {
    const a = signAlignWebhook({ secret, rawBody: rawBody.toString(), timestamp: now, deliveryId: 'd', event: 'e' })
    expect(a['x-align-timestamp']).toBe(String(nowSeconds))
    expect(a['x-align-signature']).toBe(signed()['x-align-signature'])
  })

  it('refuses an empty secret and a fractional timestamp', () => {
    expect(() => signed({ secret: '' })).toThrow(TypeError)
    expect(() => signed({ timestamp: 1.5 })).toThrow(/whole unix seconds/)
  })
})

describe('verifyAlignWebhook', () => {
  it('accepts a correct delivery and reports what it carries', () => {
    const result = verifyAlignWebhook({ headers: signed(), rawBody, secrets: [secret], now })
    expect(result).toEqual({ ok: true, deliveryId: 'd-1', event: 'time.approved', timestamp: new Date(nowSeconds * 1000), secretIndex: 0 })
  })

  it('looks headers up case-insensitively, in plain records and fetch Headers', () => {
    const h = signed()
    const mixed = Object.fromEntries(Object.entries(h).map(([k, v]) => [k.replace(/(^|-)([a-z])/g, (m) => m.toUpperCase()), v]))
    expect(Object.keys(mixed)).toContain('X-Align-Signature')
    expect(verifyAlignWebhook({ headers: mixed, rawBody, secrets: [secret], now }).ok).toBe(true)
    expect(verifyAlignWebhook({ headers: new Headers(mixed), rawBody, secrets: [secret], now }).ok).toBe(true)
  })

  it('accepts any of several secrets and says which matched', () => {
    const result = verifyAlignWebhook({ headers: signed({ secret: other }), rawBody, secrets: [secret, other], now })
    expect(result).toMatchObject({ ok: true, secretIndex: 1 })
  })

  it.each(['x-align-delivery-id', 'x-align-event', 'x-align-timestamp', 'x-align-signature'])('reports a missing %s', (name) => {
    const headers: Record<string, string | undefined> = { ...signed() }
    delete headers[name]
    expect(verifyAlignWebhook({ headers, rawBody, secrets: [secret], now })).toEqual({ ok: false, reason: 'missing_header', header: name })
    headers[name] = '  '
    expect(verifyAlignWebhook({ headers, rawBody, secrets: [secret], now })).toMatchObject({ reason: 'missing_header' })
  })

  it.each([
    ['no prefix', 'a'.repeat(64)],
    ['wrong algorithm', 'sha1=' + 'a'.repeat(40)],
    ['short digest', 'sha256=' + 'a'.repeat(63)],
    ['non-hex digest', 'sha256=' + 'z'.repeat(64)],
    ['two signatures', ['sha256=' + 'a'.repeat(64), 'sha256=' + 'b'.repeat(64)]],
  ])('reports a malformed signature: %s', (_, value) => {
    const headers = { ...signed(), 'x-align-signature': value }
    expect(verifyAlignWebhook({ headers, rawBody, secrets: [secret], now })).toEqual({
      ok: false,
      reason: 'malformed_signature',
      header: 'x-align-signature',
    })
  })

  it('reports a bad signature for another secret, a changed body or a flipped digit', () => {
    expect(verifyAlignWebhook({ headers: signed({ secret: other }), rawBody, secrets: [secret], now })).toMatchObject({ ok: false, reason: 'bad_signature' })
    const changed = Buffer.from(rawBody.toString().replace('te-1', 'te-2'))
    expect(verifyAlignWebhook({ headers: signed(), rawBody: changed, secrets: [secret], now })).toMatchObject({ reason: 'bad_signature' })
    const sig = signed()['x-align-signature']
    const flipped = sig.slice(0, -1) + (sig.endsWith('0') ? '1' : '0')
    expect(verifyAlignWebhook({ headers: { ...signed(), 'x-align-signature': flipped }, rawBody, secrets: [secret], now })).toMatchObject({ reason: 'bad_signature' })
  })

  it('accepts an upper-case hex digest', () => {
    const sig = signed()['x-align-signature']
    const upper = 'sha256=' + sig.slice(7).toUpperCase()
    expect(verifyAlignWebhook({ headers: { ...signed(), 'x-align-signature': upper }, rawBody, secrets: [secret], now }).ok).toBe(true)
  })

  it('reports a stale timestamp past the tolerance, either side, and honours toleranceSeconds', () => {
    const at = (offset: number, toleranceSeconds?: number) =>
      verifyAlignWebhook({ headers: signed({ timestamp: nowSeconds + offset }), rawBody, secrets: [secret], now, toleranceSeconds })
    expect(at(-300).ok).toBe(true)
    expect(at(300).ok).toBe(true)
    expect(at(-301)).toEqual({ ok: false, reason: 'stale_timestamp', header: 'x-align-timestamp' })
    expect(at(301)).toMatchObject({ reason: 'stale_timestamp' })
    expect(at(-30, 10)).toMatchObject({ reason: 'stale_timestamp' })
    const garbage = { ...signed(), 'x-align-timestamp': 'yesterday' }
    expect(verifyAlignWebhook({ headers: garbage, rawBody, secrets: [secret], now })).toMatchObject({ reason: 'stale_timestamp' })
  })

  it('checks the signature before freshness (a forged stale delivery is a bad signature)', () => {
    const forged = signed({ secret: other, timestamp: nowSeconds - 10_000 })
    expect(verifyAlignWebhook({ headers: forged, rawBody, secrets: [secret], now })).toMatchObject({ reason: 'bad_signature' })
  })

  it('refuses an empty secret list instead of rejecting every delivery silently', () => {
    expect(() => verifyAlignWebhook({ headers: signed(), rawBody, secrets: [], now })).toThrow(TypeError)
  })
})

describe('buildAlignWebhookRequest (testing entry)', () => {
  it('builds a delivery timestamped now that verifies', () => {
    const body = { organizationId: 'org-1', data: { id: 'te-1' } }
    const deliveryId = randomUUID()
    const { headers, rawBody: built } = buildAlignWebhookRequest(secret, 'time.approved', body, deliveryId)
    expect(JSON.parse(built.toString())).toEqual(body)
    expect(headers['x-align-delivery-id']).toBe(deliveryId)
    expect(Math.abs(Number(headers['x-align-timestamp']) - Date.now() / 1000)).toBeLessThan(5)
    expect(verifyAlignWebhook({ headers, rawBody: built, secrets: [secret] })).toMatchObject({ ok: true, deliveryId, event: 'time.approved' })
  })

  it('makes up a delivery id when none is given', () => {
    const a = buildAlignWebhookRequest(secret, 'e', {})
    const b = buildAlignWebhookRequest(secret, 'e', {})
    expect(a.headers['x-align-delivery-id']).toMatch(/^[0-9a-f-]{36}$/)
    expect(a.headers['x-align-delivery-id']).not.toBe(b.headers['x-align-delivery-id'])
  })
})
