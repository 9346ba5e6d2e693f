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
// Steps 6–8: a time status event of a new delivery id for a found entry runs in ONE statement (one implicit
// transaction: lock the entry, record processed, state-machine update), which it shares with the status events
// that arrived while the previous statement ran (status-event-batcher.ts). Everything else runs in ONE
// transaction: insert the delivery (ON CONFLICT DO NOTHING, so a concurrent copy waits on our uncommitted
// row), lock it, lock its body hash, run the handler, mark it processed unless its body was processed
// meanwhile (a replay: roll back, and the careful transaction records it). One commit per delivery; a
// handler error rolls everything back and the delivery is then recorded as failed in its own statement.
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
import { applied, externalRefOf, isIllumeraRef, stringField } from '../events/event-result.js'
import type { DeferredEntryUpdate } from '../events/events.queries.js'
import { decideTimeStatusEvent, rejectionReasonOf, statusesWhereEventApplies, TIME_STATUS_EVENTS } from '../events/time-entry-events.js'
import { type ConnectionCache, connectionCacheKey } from './connection-cache.js'
import {
  type DeliveryRecord, findProcessedDeliveryWithBody, findReceivingConnectionByPathToken, findReceivingConnectionsByOrg, insertDeliveryAndLockBody,
  insertDeliveryIfNew, lockBody, lockDelivery, markDeliveryProcessed, markProcessedUnlessReplayed, type ReceivingConnection, recordDeliveryFailed,
} from './deliveries.queries.js'
import type { StatusEventBatcher } from './status-event-batcher.js'

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
  /** Connection look-ups and decrypted secrets, reused briefly (see connection-cache.ts). */
  connectionCache: ConnectionCache
  /** The one-statement path of time status events, several deliveries per statement under load. */
  statusEvents: StatusEventBatcher
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
  /** The raw body as text, decoded once (it is also what gets recorded). */
  bodyText: string
}

function parseBody(deps: IngestDeps, rawBody: Buffer, deliveryId: string): ParsedBody {
  const bodyText = rawBody.toString('utf8')
  let body: unknown
  try {
    body = JSON.parse(bodyText)
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
  return { organizationId, data, bodyText }
}

async function findConnections(deps: IngestDeps, organizationId: string, pathToken: string | undefined): Promise<ReceivingConnection[]> {
  let found: ReceivingConnection[]
  if (pathToken === undefined) found = await findReceivingConnectionsByOrg(deps.db, organizationId)
  else {
    const connection = await findReceivingConnectionByPathToken(deps.db, pathToken)
    found = connection ? [connection] : []
  }
  deps.connectionCache.set(connectionCacheKey(organizationId, pathToken), found)
  return found
}

function forOrganization(candidates: ReceivingConnection[], organizationId: string): ReceivingConnection[] {
  return candidates.filter((c) => c.align_org_id === organizationId)
}

/** The secrets a connection accepts now: the current one, and the previous one during its grace period. */
function acceptedSecrets(deps: IngestDeps, connection: ReceivingConnection, now: Date): string[] {
  const cache = deps.connectionCache
  const current = connection.webhook_secret!
  const secrets = [cache.plaintext(current, () => decryptConnectionSecret(deps.secretBox, connection.id, 'webhook_secret', current))]
  const previous = connection.previous_webhook_secret
  if (previous && connection.previous_webhook_secret_expires_at && connection.previous_webhook_secret_expires_at > now) {
    secrets.push(cache.plaintext(previous, () => decryptConnectionSecret(deps.secretBox, connection.id, 'previous_webhook_secret', previous)))
  }
  return secrets
}

type SignatureCheck =
  | { ok: true; connection: ReceivingConnection }
  | { ok: false; failure: 'unknown_connection' | 'malformed_signature' | 'bad_signature' | 'stale_timestamp' }

/** With several connections for one organisation (no path token), the signature tells which one sent it. */
function checkSignature(deps: IngestDeps, inbound: InboundDelivery, candidates: ReceivingConnection[], now: Date): SignatureCheck {
  if (candidates.length === 0) return { ok: false, failure: 'unknown_connection' }
  let failure: 'malformed_signature' | 'bad_signature' = 'bad_signature'
  for (const connection of candidates) {
    const result = verifyAlignWebhook({
      headers: inbound.headers,
      rawBody: inbound.rawBody,
      secrets: acceptedSecrets(deps, connection, now),
      now,
      toleranceSeconds: deps.timestampToleranceSeconds,
    })
    if (result.ok) return { ok: true, connection }
    if (result.reason === 'stale_timestamp') return { ok: false, failure: 'stale_timestamp' }
    if (result.reason === 'malformed_signature') failure = 'malformed_signature'
  }
  return { ok: false, failure }
}

/**
 * Steps 1–5; returns the verified delivery or throws the HttpError to answer. `fresh` skips the cache
 * (after the fast path found the cached connection changed). A refusal is only ever based on a fresh
 * look-up: a cached one that does not verify is looked up again.
 */
async function verifyDelivery(deps: IngestDeps, inbound: InboundDelivery, now: Date, fresh = false) {
  for (const [name, display] of REQUIRED_HEADERS) {
    if (!headerValue(inbound.headers, name)) return refuse(deps, 'missing_header', badRequest(`missing header ${display}`, 'missing_header'), { header: display })
  }
  const deliveryId = headerValue(inbound.headers, ALIGN_DELIVERY_ID_HEADER)!
  const event = headerValue(inbound.headers, ALIGN_EVENT_HEADER)!
  if (deliveryId.length > MAX_ID_LENGTH) return refuse(deps, 'invalid_header', badRequest(`header X-Align-Delivery-Id is longer than ${MAX_ID_LENGTH} characters`, 'invalid_header'))
  if (event.length > MAX_ID_LENGTH) return refuse(deps, 'invalid_header', badRequest(`header X-Align-Event is longer than ${MAX_ID_LENGTH} characters`, 'invalid_header'), { deliveryId })

  const body = parseBody(deps, inbound.rawBody, deliveryId)

  const cacheKey = connectionCacheKey(body.organizationId, inbound.pathToken)
  const cached = fresh ? undefined : deps.connectionCache.get(cacheKey)
  let check = cached ? checkSignature(deps, inbound, forOrganization(cached, body.organizationId), now) : undefined
  if (!check?.ok) {
    const candidates = forOrganization(await findConnections(deps, body.organizationId, inbound.pathToken), body.organizationId)
    check = checkSignature(deps, inbound, candidates, now)
  }
  if (check.ok) return { deliveryId, event, connection: check.connection, ...body }
  switch (check.failure) {
    case 'unknown_connection':
      return refuse(deps, 'unknown_connection', notFound('Align connection for organization', body.organizationId), { deliveryId })
    case 'stale_timestamp':
      return refuse(deps, 'stale_timestamp', badRequest(`header X-Align-Timestamp is more than ${deps.timestampToleranceSeconds} s from now`, 'stale_timestamp'), { deliveryId })
    default: {
      // DESIGN: 401 on a signature mismatch (the reference answers 400); documented in the README.
      const message = check.failure === 'malformed_signature' ? 'header X-Align-Signature is not sha256=<64 hex digits>' : 'X-Align-Signature does not match the body'
      return refuse(deps, check.failure, new HttpError(401, 'invalid_signature', message), { deliveryId })
    }
  }
}

/** The cached connection row changed (or stopped receiving) since the delivery was verified against it. */
class ConnectionChanged extends Error {}
/** A delivery of the same body was processed meanwhile: roll back and let the careful path record the replay. */
class ReplayRaced extends Error {}

function isTimeStatusEvent(event: string): event is keyof typeof TIME_STATUS_EVENTS {
  return Object.hasOwn(TIME_STATUS_EVENTS, event)
}

/**
 * time.approved/rejected/locked/invoiced of a new delivery id for a linked entry, the bulk of Align's
 * traffic: one statement (applyStatusEvents, shared with the deliveries that arrive meanwhile: see
 * status-event-batcher.ts). When that statement wrote nothing for this delivery: 'replayed'
 * (the careful transaction records it), or undefined and the transaction decides (copy of a recorded
 * delivery, entry not found).
 */
async function statusEventInOneStatement(
  deps: IngestDeps,
  delivery: VerifiedDelivery,
  record: DeliveryRecord,
  now: Date,
): Promise<Processed | 'replayed' | undefined> {
  const { event, data, connection } = delivery
  if (!isTimeStatusEvent(event)) return undefined
  const target = TIME_STATUS_EVENTS[event]
  const ref = externalRefOf(data)
  const outcome = await deps.statusEvents.apply({
    record,
    connectionRowVersion: connection.row_version,
    since: new Date(now.getTime() - deps.replayWindowMs),
    now,
    alignEntryId: stringField(data, 'id') ?? null,
    illumeraEntryId: isIllumeraRef(ref, 'time_entry') ? ref.externalId : null,
    target,
    appliesFrom: statusesWhereEventApplies(target),
    ...(target === 'rejected' ? { rejectionReason: rejectionReasonOf(data) } : {}),
  })
  // Its statement failed as a whole (it shared it with other deliveries): nothing was written.
  if (!outcome) return undefined
  if (!outcome.connectionCurrent) throw new ConnectionChanged()
  // A processed delivery of the same body: straight to the careful transaction, which records the replay.
  if (outcome.replayed) return 'replayed'
  if (!outcome.inserted || !outcome.entry) return undefined
  const decision = decideTimeStatusEvent(outcome.entry, event)
  if (decision.apply !== outcome.applied) {
    // Cannot happen (the SQL condition is the state machine enumerated); logged loudly if it ever does.
    deps.logger.error({ deliveryId: record.deliveryId, event, entryId: outcome.entry.id, applied: outcome.applied }, 'one-statement path disagrees with the state machine')
  }
  return { outcome: 'processed', ...(outcome.applied ? applied() : decision.result) }
}

/**
 * The usual path, five round trips: BEGIN; one statement that checks the connection row is unchanged,
 * inserts the delivery (ON CONFLICT DO NOTHING) and takes the body lock; the handler's locking read;
 * one statement that applies the handler's entry update and marks the delivery processed unless a
 * delivery of the same body was processed meanwhile (then everything rolls back and the careful path
 * records the replay); COMMIT. A copy of a recorded delivery locks its row and is deduplicated when
 * processed, or processed again when it failed earlier.
 */
async function fastTransaction(deps: IngestDeps, delivery: VerifiedDelivery, record: DeliveryRecord, now: Date): Promise<Processed> {
  const { connection } = delivery
  const scope = { tenantId: connection.tenant_id, companyId: connection.company_id, syncDirection: connection.sync_direction }
  return deps.db.transaction().execute(async (trx): Promise<Processed> => {
    const first = await insertDeliveryAndLockBody(trx, record, connection.row_version)
    if (!first.connectionCurrent) throw new ConnectionChanged()
    if (!first.inserted) {
      const existing = await lockDelivery(trx, record.deliveryId)
      if (!existing) throw new Error(`delivery ${record.deliveryId} vanished while being processed`)
      // DESIGN: dedup skips only processed deliveries; a failed one is processed again.
      if (existing.status === 'processed') return { outcome: 'deduplicated' }
      await lockBody(trx, connection.id, record.bodySha256)
    }
    const deferred: DeferredEntryUpdate = {}
    const result = await handleAlignEvent(trx, scope, delivery.event, delivery.data, now, deferred)
    const since = new Date(now.getTime() - deps.replayWindowMs)
    if (!(await markProcessedUnlessReplayed(trx, record, now, result.note, since, deferred.pending))) throw new ReplayRaced()
    return { outcome: 'processed', ...result }
  })
}

/**
 * The careful path (replays, and after the cached connection changed): the replay check before the
 * handler, each step its own statement.
 */
async function carefulTransaction(deps: IngestDeps, delivery: VerifiedDelivery, record: DeliveryRecord, now: Date): Promise<Processed> {
  const { deliveryId, event, connection } = delivery
  const scope = { tenantId: connection.tenant_id, companyId: connection.company_id, syncDirection: connection.sync_direction }
  return deps.db.transaction().execute(async (trx): Promise<Processed> => {
    if (!(await insertDeliveryIfNew(trx, record))) {
      const existing = await lockDelivery(trx, deliveryId)
      if (!existing) throw new Error(`delivery ${deliveryId} vanished while being processed`)
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
}

type Processed =
  | { outcome: 'deduplicated' }
  | { outcome: 'replayed'; originalDeliveryId: string }
  | ({ outcome: 'processed' } & EventResult)

/** Accepts, deduplicates, records and applies one delivery. Throws HttpError for what it refuses. */
export async function ingestAlignDelivery(deps: IngestDeps, inbound: InboundDelivery): Promise<IngestReply> {
  const received = performance.now()
  const now = deps.now()
  const first = await processDelivery(deps, inbound, await verifyDelivery(deps, inbound, now), now, 'fast', received)
  if (first !== 'connection_changed') return first
  // The (cached) connection changed under us: verify again against the database, then the careful path.
  return (await processDelivery(deps, inbound, await verifyDelivery(deps, inbound, now, true), now, 'careful', received)) as IngestReply
}

type VerifiedDelivery = Awaited<ReturnType<typeof verifyDelivery>>

/** Milliseconds since `start` (a performance.now()), to 0.1 ms. */
function sinceMs(start: number): number {
  return Math.round((performance.now() - start) * 10) / 10
}

async function processDelivery(
  deps: IngestDeps,
  inbound: InboundDelivery,
  delivery: VerifiedDelivery,
  now: Date,
  path: 'fast' | 'careful',
  /** performance.now() when the request reached the pipeline: the log line's durationMs counts from here. */
  received: number,
): Promise<IngestReply | 'connection_changed'> {
  const { deliveryId, event, connection } = delivery
  const record: DeliveryRecord = {
    deliveryId,
    eventName: event,
    connection,
    payloadJson: delivery.bodyText,
    bodySha256: createHash('sha256').update(inbound.rawBody).digest('hex'),
  }
  const label = eventLabel(event)
  const log = { deliveryId, event, connectionId: connection.id }
  const started = performance.now()

  let processed: Processed
  try {
    try {
      const single = path === 'fast' ? await statusEventInOneStatement(deps, delivery, record, now) : undefined
      if (single === 'replayed') throw new ReplayRaced()
      processed = single
        ?? (path === 'fast' ? await fastTransaction(deps, delivery, record, now) : await carefulTransaction(deps, delivery, record, now))
    } catch (err) {
      if (err instanceof ConnectionChanged) return 'connection_changed'
      if (!(err instanceof ReplayRaced)) throw err
      processed = await carefulTransaction(deps, delivery, record, now)
    }
  } catch (err) {
    const handlerMs = performance.now() - started
    const durationMs = sinceMs(received)
    const message = err instanceof Error ? `${err.name}: ${err.message}` : 'non-error thrown'
    deps.metrics.deliveries.inc({ event: label, outcome: 'failed' })
    deps.metrics.handlerDuration.observe({ event: label }, handlerMs / 1000)
    try {
      await recordDeliveryFailed(deps.db, record, message.slice(0, MAX_ERROR_LENGTH))
    } catch (recordErr) {
      deps.logger.error({ ...log, error: recordErr instanceof Error ? recordErr.message : 'unknown' }, 'could not record the failed delivery')
    }
    deps.logger.error({ ...log, outcome: 'failed', status: 500, durationMs, error: message.slice(0, 500) }, 'align webhook failed')
    throw new HttpError(500, 'delivery_failed', 'the delivery could not be applied; it is recorded as failed and runs again when retried')
  }

  deps.metrics.handlerDuration.observe({ event: label }, (performance.now() - started) / 1000)
  deps.metrics.deliveries.inc({ event: label, outcome: processed.outcome })
  // The delivery's only log line (Fastify's request logging is off for these routes): it is the access log.
  const durationMs = sinceMs(received)
  switch (processed.outcome) {
    case 'deduplicated':
      deps.logger.info({ ...log, outcome: 'deduplicated', status: 200, durationMs }, 'align webhook already processed')
      return { received: true, deduplicated: true }
    case 'replayed':
      deps.logger.warn({ ...log, outcome: 'replayed', status: 200, originalDeliveryId: processed.originalDeliveryId, durationMs }, 'align webhook body replayed under a new delivery id')
      return { received: true, deduplicated: true }
    case 'processed':
      deps.logger.info(
        { ...log, outcome: 'processed', status: 200, effect: processed.effect, durationMs, ...(processed.reason ? { reason: processed.reason } : {}) },
        'align webhook processed',
      )
      return { received: true }
  }
}
