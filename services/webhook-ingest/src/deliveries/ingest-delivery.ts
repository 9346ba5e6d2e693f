// The delivery pipeline of POST /api/webhooks/align, in the order:
//   1 headers → 2 body → 3 connection → 4 signature → 5 timestamp → 6 dedup → 7 record → 8 apply → 9 answer.
//
// Glossary
// - delivery: one POST from Align; its X-Align-Delivery-Id is the same on every retry.
// - processed: the handler ran and committed (or decided there was nothing to do). Only processed
//   deliveries are deduplicated; a failed one runs again on Align's retry (DESIGN: the reference
//   deduplicates any recorded id, which loses a status change after one failure).
// - replay: the same signed body under another delivery id. Align signs only the body, so a captured
//   delivery could be re-sent with a fresh id and timestamp; it is recorded, not applied again.
//
// Steps 6–8 run in ONE transaction: insert the delivery (ON CONFLICT DO NOTHING, so a concurrent copy
// waits on our uncommitted row), lock it, lock its body hash, check for a replay, run the handler and
// mark it processed. One commit per delivery; a handler error rolls everything back and the delivery is
// then recorded as failed in its own statement.
import { createHash } from 'node:crypto'
import {
  ALIGN_DELIVERY_ID_HEADER, ALIGN_EVENT_HEADER, ALIGN_SIGNATURE_HEADER, ALIGN_TIMESTAMP_HEADER, verifyAlignWebhook,
} from '@illumera/align-gateway'
import type { Database } from '@illumera/db-schema'
import { badRequest, decryptConnectionSecret, HttpError, notFound, type SecretBox } from '@illumera/service-kit'
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import { handleAlignEvent } from '../events/handle-align-event.js'
import type { EventData, EventResult } from '../events/event-result.js'
import { eventLabel, type IngestMetrics, type VerificationFailureReason } from '../metrics.js'
import {
  type DeliveryRecord, findProcessedDeliveryWithBody, findReceivingConnectionByPathToken, findReceivingConnectionsByOrg, insertDeliveryIfNew,
  lockBody, lockDelivery, markDeliveryProcessed, type ReceivingConnection, recordDeliveryFailed,
} from './deliveries.queries.js'

export interface IngestDeps {
  db: Kysely<Database>
  secretBox: SecretBox
  metrics: IngestMetrics
  logger: Logger
  /** A different delivery id with an already processed body within this window is a replay. */
  replayWindowMs: number
  /** Largest allowed |now − X-Align-Timestamp| in seconds (300). */
  timestampToleranceSeconds: number
  now: () => Date
}

export interface InboundDelivery {
  headers: Record<string, string | string[] | undefined>
  rawBody: Buffer
  pathToken?: string
}

export interface IngestReply {
  received: true
  deduplicated?: true
}

const REQUIRED_HEADERS = [
  [ALIGN_DELIVERY_ID_HEADER, 'X-Align-Delivery-Id'],
  [ALIGN_EVENT_HEADER, 'X-Align-Event'],
  [ALIGN_TIMESTAMP_HEADER, 'X-Align-Timestamp'],
  [ALIGN_SIGNATURE_HEADER, 'X-Align-Signature'],
] as const

const MAX_ID_LENGTH = 200
const MAX_ERROR_LENGTH = 2000

function headerValue(headers: InboundDelivery['headers'], name: string): string | undefined {
  const value = headers[name]
  const text = Array.isArray(value) ? value.join(', ') : value
  return text?.trim() || undefined
}

function refuse(deps: IngestDeps, reason: VerificationFailureReason, error: HttpError, fields: Record<string, unknown> = {}): never {
  deps.metrics.verificationFailures.inc({ reason })
  deps.logger.warn({ reason, status: error.statusCode, ...fields }, 'align webhook refused')
  throw error
}

interface ParsedBody {
  organizationId: string
  data: EventData
}

function parseBody(deps: IngestDeps, rawBody: Buffer, deliveryId: string): ParsedBody {
  let body: unknown
  try {
    body = JSON.parse(rawBody.toString('utf8'))
  } catch {
    return refuse(deps, 'invalid_body', badRequest('body is not valid JSON', 'invalid_body'), { deliveryId })
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    return refuse(deps, 'invalid_body', badRequest('body must be a JSON object', 'invalid_body'), { deliveryId })
  }
  const root = body as Record<string, unknown>
  const data = root.data && typeof root.data === 'object' && !Array.isArray(root.data) ? (root.data as EventData) : {}
  const organizationId = typeof root.organizationId === 'string' && root.organizationId
    ? root.organizationId
    : typeof data.organizationId === 'string' && data.organizationId ? data.organizationId : undefined
  if (!organizationId) {
    return refuse(deps, 'invalid_body', badRequest('body has no organizationId (at the root or in data)', 'invalid_body'), { deliveryId })
  }
  return { organizationId, data }
}

async function findConnections(deps: IngestDeps, organizationId: string, pathToken: string | undefined): Promise<ReceivingConnection[]> {
  if (pathToken === undefined) return findReceivingConnectionsByOrg(deps.db, organizationId)
  const connection = await findReceivingConnectionByPathToken(deps.db, pathToken)
  return connection && connection.align_org_id === organizationId ? [connection] : []
}

/** The secrets a connection accepts now: the current one, and the previous one during its grace period. */
function acceptedSecrets(deps: IngestDeps, connection: ReceivingConnection, now: Date): string[] {
  const secrets = [decryptConnectionSecret(deps.secretBox, connection.id, 'webhook_secret', connection.webhook_secret!)]
  if (connection.previous_webhook_secret && connection.previous_webhook_secret_expires_at && connection.previous_webhook_secret_expires_at > now) {
    secrets.push(decryptConnectionSecret(deps.secretBox, connection.id, 'previous_webhook_secret', connection.previous_webhook_secret))
  }
  return secrets
}

/** Steps 1–5; returns the verified delivery or throws the HttpError to answer. */
async function verifyDelivery(deps: IngestDeps, inbound: InboundDelivery, now: Date) {
  for (const [name, display] of REQUIRED_HEADERS) {
    if (!headerValue(inbound.headers, name)) return refuse(deps, 'missing_header', badRequest(`missing header ${display}`, 'missing_header'), { header: display })
  }
  const deliveryId = headerValue(inbound.headers, ALIGN_DELIVERY_ID_HEADER)!
  const event = headerValue(inbound.headers, ALIGN_EVENT_HEADER)!
  if (deliveryId.length > MAX_ID_LENGTH) return refuse(deps, 'invalid_header', badRequest(`header X-Align-Delivery-Id is longer than ${MAX_ID_LENGTH} characters`, 'invalid_header'))
  if (event.length > MAX_ID_LENGTH) return refuse(deps, 'invalid_header', badRequest(`header X-Align-Event is longer than ${MAX_ID_LENGTH} characters`, 'invalid_header'), { deliveryId })

  const body = parseBody(deps, inbound.rawBody, deliveryId)

  const candidates = await findConnections(deps, body.organizationId, inbound.pathToken)
  if (candidates.length === 0) {
    return refuse(deps, 'unknown_connection', notFound('Align connection for organization', body.organizationId), { deliveryId })
  }

  // With several connections for one organisation (no path token), the signature tells which one sent it.
  let failure: 'malformed_signature' | 'bad_signature' | 'stale_timestamp' = 'bad_signature'
  for (const connection of candidates) {
    const result = verifyAlignWebhook({
      headers: inbound.headers,
      rawBody: inbound.rawBody,
      secrets: acceptedSecrets(deps, connection, now),
      now,
      toleranceSeconds: deps.timestampToleranceSeconds,
    })
    if (result.ok) return { deliveryId, event, connection, ...body }
    if (result.reason === 'stale_timestamp') {
      failure = 'stale_timestamp'
      break
    }
    if (result.reason === 'malformed_signature') failure = 'malformed_signature'
  }
  if (failure === 'stale_timestamp') {
    return refuse(deps, 'stale_timestamp', badRequest(`header X-Align-Timestamp is more than ${deps.timestampToleranceSeconds} s from now`, 'stale_timestamp'), { deliveryId })
  }
  // DESIGN: 401 on a signature mismatch (the reference answers 400); documented in the README.
  const message = failure === 'malformed_signature' ? 'header X-Align-Signature is not sha256=<64 hex digits>' : 'X-Align-Signature does not match the body'
  return refuse(deps, failure, new HttpError(401, 'invalid_signature', message), { deliveryId })
}

type Processed =
  | { outcome: 'deduplicated' }
  | { outcome: 'replayed'; originalDeliveryId: string }
  | ({ outcome: 'processed' } & EventResult)

/** Accepts, deduplicates, records and applies one delivery. Throws HttpError for what it refuses. */
export async function ingestAlignDelivery(deps: IngestDeps, inbound: InboundDelivery): Promise<IngestReply> {
  const now = deps.now()
  const delivery = await verifyDelivery(deps, inbound, now)
  const { deliveryId, event, connection } = delivery
  const scope = { tenantId: connection.tenant_id, companyId: connection.company_id }
  const record: DeliveryRecord = {
    deliveryId,
    eventName: event,
    connection,
    payloadJson: inbound.rawBody.toString('utf8'),
    bodySha256: createHash('sha256').update(inbound.rawBody).digest('hex'),
  }
  const label = eventLabel(event)
  const log = { deliveryId, event, connectionId: connection.id }
  const started = performance.now()

  let processed: Processed
  try {
    processed = await deps.db.transaction().execute(async (trx): Promise<Processed> => {
      if (!(await insertDeliveryIfNew(trx, record))) {
        const existing = await lockDelivery(trx, deliveryId)
        if (!existing) throw new Error(`delivery ${deliveryId} vanished while being processed`)
        // DESIGN: dedup skips only processed deliveries; a failed one is processed again.
        if (existing.status === 'processed') return { outcome: 'deduplicated' }
      }
      await lockBody(trx, connection.id, record.bodySha256)
      const since = new Date(now.getTime() - deps.replayWindowMs)
      const original = await findProcessedDeliveryWithBody(trx, connection.id, record.bodySha256, deliveryId, since)
      if (original) {
        await markDeliveryProcessed(trx, deliveryId, now, `replayed body of delivery ${original}`)
        return { outcome: 'replayed', originalDeliveryId: original }
      }
      const result = await handleAlignEvent(trx, scope, event, delivery.data, now)
      await markDeliveryProcessed(trx, deliveryId, now, result.note)
      return { outcome: 'processed', ...result }
    })
  } catch (err) {
    const durationMs = Math.round(performance.now() - started)
    const message = err instanceof Error ? `${err.name}: ${err.message}` : 'non-error thrown'
    deps.metrics.deliveries.inc({ event: label, outcome: 'failed' })
    deps.metrics.handlerDuration.observe({ event: label }, durationMs / 1000)
    try {
      await recordDeliveryFailed(deps.db, record, message.slice(0, MAX_ERROR_LENGTH))
    } catch (recordErr) {
      deps.logger.error({ ...log, error: recordErr instanceof Error ? recordErr.message : 'unknown' }, 'could not record the failed delivery')
    }
    deps.logger.error({ ...log, outcome: 'failed', durationMs, error: message.slice(0, 500) }, 'align webhook failed')
    throw new HttpError(500, 'delivery_failed', 'the delivery could not be applied; it is recorded as failed and runs again when retried')
  }

  const durationMs = Math.round((performance.now() - started) * 10) / 10
  deps.metrics.handlerDuration.observe({ event: label }, durationMs / 1000)
  deps.metrics.deliveries.inc({ event: label, outcome: processed.outcome })
  switch (processed.outcome) {
    case 'deduplicated':
      deps.logger.info({ ...log, outcome: 'deduplicated', durationMs }, 'align webhook already processed')
      return { received: true, deduplicated: true }
    case 'replayed':
      deps.logger.warn({ ...log, outcome: 'replayed', originalDeliveryId: processed.originalDeliveryId, durationMs }, 'align webhook body replayed under a new delivery id')
      return { received: true, deduplicated: true }
    case 'processed':
      deps.logger.info(
        { ...log, outcome: 'processed', effect: processed.effect, durationMs, ...(processed.reason ? { reason: processed.reason } : {}) },
        'align webhook processed',
      )
      return { received: true }
  }
}
