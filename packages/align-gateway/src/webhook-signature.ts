// Align webhook signatures: `X-Align-Signature: sha256=<hex HMAC-SHA256(rawBody, hmacSecret)>`,
// with `X-Align-Delivery-Id`, `X-Align-Event` and `X-Align-Timestamp` (unix seconds of the attempt)
// beside it. Note that Align signs the body only, not the timestamp: the freshness check limits
// replays to the tolerance window, and receivers deduplicate by delivery id for the rest.
import { createHmac, timingSafeEqual } from 'node:crypto'

export const ALIGN_DELIVERY_ID_HEADER = 'x-align-delivery-id'
export const ALIGN_EVENT_HEADER = 'x-align-event'
export const ALIGN_TIMESTAMP_HEADER = 'x-align-timestamp'
export const ALIGN_SIGNATURE_HEADER = 'x-align-signature'

/** The four headers Align sends with a delivery (lower-case names, as Node reports them). */
// A type alias (not an interface) so it is assignable to Record<string, string>.
export type AlignWebhookHeaders = {
  'x-align-delivery-id': string
  'x-align-event': string
  'x-align-timestamp': string
  'x-align-signature': string
}

export interface SignAlignWebhookParams {
  secret: string
  /** The exact bytes that will be sent. */
  rawBody: string | Uint8Array
  /** Unix seconds, or a Date. */
  timestamp: number | Date
  deliveryId: string
  event: string
}

type RawBody = string | Uint8Array

function hexSignature(secret: string, rawBody: RawBody): string {
  return createHmac('sha256', secret).update(rawBody).digest('hex')
}

/**
 * Signs a delivery the way Align does and returns its four headers.
 *
 * @example
 * const headers = signAlignWebhook({ secret, rawBody, timestamp: new Date(), deliveryId: randomUUID(), event: 'time.approved' })
 * await fetch(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: rawBody })
 */
export function signAlignWebhook(params: SignAlignWebhookParams): AlignWebhookHeaders {
  if (typeof params.secret !== 'string' || params.secret.length === 0) throw new TypeError('signAlignWebhook: secret must be a non-empty string')
  const seconds = params.timestamp instanceof Date ? Math.floor(params.timestamp.getTime() / 1000) : params.timestamp
  if (!Number.isInteger(seconds)) throw new TypeError('signAlignWebhook: timestamp must be whole unix seconds or a Date')
  return {
    'x-align-delivery-id': params.deliveryId,
    'x-align-event': params.event,
    'x-align-timestamp': String(seconds),
    'x-align-signature': `sha256=${hexSignature(params.secret, params.rawBody)}`,
  }
}

/** Node's IncomingHttpHeaders, a plain record with any casing, or a fetch `Headers`. */
export type AlignWebhookHeaderInput =
  | Record<string, string | string[] | undefined>
  | { get(name: string): string | null }

export interface VerifyAlignWebhookParams {
  headers: AlignWebhookHeaderInput
  /** The body exactly as received, before any JSON parsing. */
  rawBody: string | Uint8Array
  /** Every secret currently accepted (e.g. old and new during a re-subscription). */
  secrets: readonly string[]
  /** Defaults to the current time. */
  now?: Date
  /** Largest allowed |now − timestamp|, in seconds. Default 300. */
  toleranceSeconds?: number
}

export type AlignWebhookFailureReason = 'missing_header' | 'malformed_signature' | 'bad_signature' | 'stale_timestamp'

export type AlignWebhookVerification =
  | {
      ok: true
      deliveryId: string
      event: string
      /** `X-Align-Timestamp` as a Date. */
      timestamp: Date
      /** Which of `secrets` matched. */
      secretIndex: number
    }
  | {
      ok: false
      reason: AlignWebhookFailureReason
      /** The header at fault, when one is. */
      header?: string
    }

function readHeader(headers: AlignWebhookHeaderInput, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined
  }
  const record = headers as Record<string, string | string[] | undefined>
  let value = record[name]
  if (value === undefined) {
    for (const key of Object.keys(record)) {
      if (key.toLowerCase() === name) {
        value = record[key]
        break
      }
    }
  }
  // A repeated header is joined as fetch does, so a doubled signature reads as malformed.
  return Array.isArray(value) ? value.join(', ') : value
}

const SIGNATURE_PATTERN = /^sha256=([0-9a-f]{64})$/i
const TIMESTAMP_PATTERN = /^\d{1,12}$/

/**
 * Checks an inbound delivery: all four headers present, a well-formed signature that matches one
 * of `secrets` (constant-time comparison), and a timestamp within the tolerance.
 *
 * @example
 * const result = verifyAlignWebhook({ headers: req.headers, rawBody: req.body, secrets: [current, previous] })
 * if (!result.ok) return reply.code(400).send({ error: result.reason })
 */
export function verifyAlignWebhook(params: VerifyAlignWebhookParams): AlignWebhookVerification {
  const { headers, rawBody, secrets } = params
  if (!Array.isArray(secrets) || secrets.length === 0 || secrets.some((s) => typeof s !== 'string' || s.length === 0)) {
    throw new TypeError('verifyAlignWebhook: secrets must be a non-empty list of non-empty strings')
  }
  const toleranceSeconds = params.toleranceSeconds ?? 300
  const values: Record<string, string> = {}
  for (const name of [ALIGN_DELIVERY_ID_HEADER, ALIGN_EVENT_HEADER, ALIGN_TIMESTAMP_HEADER, ALIGN_SIGNATURE_HEADER]) {
    const value = readHeader(headers, name)?.trim()
    if (!value) return { ok: false, reason: 'missing_header', header: name }
    values[name] = value
  }

  const match = SIGNATURE_PATTERN.exec(values[ALIGN_SIGNATURE_HEADER]!)
  if (!match) return { ok: false, reason: 'malformed_signature', header: ALIGN_SIGNATURE_HEADER }
  const given = Buffer.from(match[1]!.toLowerCase(), 'hex')

  let secretIndex = -1
  for (let i = 0; i < secrets.length; i++) {
    const expected = Buffer.from(hexSignature(secrets[i]!, rawBody), 'hex')
    // Both are 32-byte digests, so timingSafeEqual never sees unequal lengths.
    if (timingSafeEqual(expected, given) && secretIndex === -1) secretIndex = i
  }
  if (secretIndex === -1) return { ok: false, reason: 'bad_signature', header: ALIGN_SIGNATURE_HEADER }

  const rawTimestamp = values[ALIGN_TIMESTAMP_HEADER]!
  const nowSeconds = (params.now ?? new Date()).getTime() / 1000
  const seconds = TIMESTAMP_PATTERN.test(rawTimestamp) ? Number(rawTimestamp) : Number.NaN
  if (!Number.isFinite(seconds) || Math.abs(nowSeconds - seconds) > toleranceSeconds) {
    return { ok: false, reason: 'stale_timestamp', header: ALIGN_TIMESTAMP_HEADER }
  }

  return {
    ok: true,
    deliveryId: values[ALIGN_DELIVERY_ID_HEADER]!,
    event: values[ALIGN_EVENT_HEADER]!,
    timestamp: new Date(seconds * 1000),
    secretIndex,
  }
}
