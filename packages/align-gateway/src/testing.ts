// Helpers for tests of code that receives Align webhooks (`@illumera/align-gateway/testing`).
import { randomUUID } from 'node:crypto'
import { signAlignWebhook, type AlignWebhookHeaders } from './webhook-signature.js'

/**
 * A delivery signed as Align signs it, timestamped now, as in the developer reference's testing guide.
 *
 * @example
 * import { buildAlignWebhookRequest } from '@illumera/align-gateway/testing'
 *
 * const { headers, rawBody } = buildAlignWebhookRequest(hmacSecret, 'time.approved', { organizationId: 'org-1', data: { id: 'te-1' } })
 * const res = await app.inject({ method: 'POST', url: '/api/webhooks/align', headers: { ...headers, 'content-type': 'application/json' }, payload: rawBody })
 */
export function buildAlignWebhookRequest(
  secret: string,
  eventName: string,
  body: object,
  deliveryId: string = randomUUID(),
): { headers: AlignWebhookHeaders; rawBody: Buffer } {
  const rawBody = Buffer.from(JSON.stringify(body))
  const headers = signAlignWebhook({ secret, rawBody, timestamp: new Date(), deliveryId, event: eventName })
  return { headers, rawBody }
}
