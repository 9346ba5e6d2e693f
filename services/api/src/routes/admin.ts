// Platform admin: sync health across every tenant (the platform's own staff, so no tenant scope here).
import type { Database } from '@illumera/db-schema'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { Kysely } from 'kysely'
import {
  ALIGN_REQUESTS_PER_MINUTE, countRecentGrants, listConnections, listDeliveries, listOutbox, listReconciliation, listReconciliationRuns,
  oldestPendingByConnection, resetFailedOutboxRows, summarizeOutbox,
} from '../admin/admin.queries.js'
import { ConnectionSyncFields, OutboxCountsView, toConnectionSyncFields } from '../connections/connection-view.js'
import { countOutboxByStatus } from '../connections/connections.queries.js'
import { DEFAULT_KEY_MAX_AGE_DAYS } from '../connections/key-age.js'
import { decodeSeqCursor, decodeTimeCursor, encodeSeqCursor, encodeTimeCursor, page, PageQuery } from '../http/pagination.js'
import { authErrors, NullableString, pageOf, Timestamp } from '../http/schemas.js'
import { loadSyncProgress } from '../sync/sync-runs.js'

const Id = Type.String({ minLength: 1, maxLength: 100 })
const NullableTimestamp = Type.Union([Timestamp, Type.Null()])
const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null)
const rateBudgetOf = (used: number) => ({ limitPerMinute: ALIGN_REQUESTS_PER_MINUTE, usedLastMinute: used, remaining: Math.max(0, ALIGN_REQUESTS_PER_MINUTE - used) })

const RetryBody = Type.Object({
  connectionId: Type.Optional(Id),
  ids: Type.Optional(Type.Array(Id, { minItems: 1, maxItems: 1000 })),
}, { additionalProperties: false })

const OutboxQuery = Type.Object({
  status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('processing'), Type.Literal('done'), Type.Literal('failed')])),
  connectionId: Type.Optional(Id),
  ...PageQuery,
}, { additionalProperties: false })

const OutboxRowView = Type.Object({
  id: Type.String(), seq: Type.String(), tenantId: Type.String(), companyId: Type.String(), connectionId: NullableString,
  entityType: Type.String(), localId: Type.String(), operation: Type.String(), status: Type.String(), attempts: Type.Integer(),
  lastAttemptAt: NullableTimestamp, nextRetryAt: Timestamp, error: NullableString, waitingFor: NullableString, createdAt: Timestamp,
})

const DeliveriesQuery = Type.Object({
  status: Type.Optional(Type.Union([Type.Literal('received'), Type.Literal('processed'), Type.Literal('failed')])),
  connectionId: Type.Optional(Id),
  ...PageQuery,
}, { additionalProperties: false })

const DeliveryView = Type.Object({
  id: Type.String(), deliveryId: Type.String(), eventName: Type.String(), tenantId: NullableString, companyId: NullableString,
  connectionId: NullableString, status: Type.String(), receivedAt: Timestamp, processedAt: NullableTimestamp, error: NullableString,
})

const ReconciliationQuery = Type.Object({
  tenantId: Type.Optional(Id), connectionId: Type.Optional(Id), runId: Type.Optional(Id), ...PageQuery,
}, { additionalProperties: false })

const DiscrepancyView = Type.Object({
  id: Type.String(), tenantId: Type.String(), projectId: NullableString, connectionId: NullableString, runId: NullableString,
  field: Type.String(), illumeraValue: NullableString, alignValue: NullableString, detectedAt: Timestamp,
})

const OutboxSummaryView = Type.Object({ counts: OutboxCountsView, oldestPendingAt: NullableTimestamp })

const RunsQuery = Type.Object({ ...PageQuery }, { additionalProperties: false })

const RunView = Type.Object({
  id: Type.String(), startedAt: Timestamp, finishedAt: NullableTimestamp,
  outcome: Type.Union([Type.Literal('ok'), Type.Literal('discrepancies'), Type.Literal('failed'), Type.Literal('incomplete'), Type.Null()]),
  connectionsChecked: Type.Integer(), connectionsIncomplete: Type.Integer(), projectsChecked: Type.Integer(), discrepancies: Type.Integer(),
  alignCalls: Type.Integer(), error: NullableString,
})

/** The key's budget as Align counts it: calls in the last minute against its per-key limit. */
const RateBudgetView = Type.Object({ limitPerMinute: Type.Integer(), usedLastMinute: Type.Integer(), remaining: Type.Integer() })

const ConnectionsQuery = Type.Object({
  status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('error'), Type.Literal('disconnected')])),
  ...PageQuery,
}, { additionalProperties: false })

const ConnectionHealthView = Type.Object({
  id: Type.String(), tenantId: Type.String(), companyId: Type.String(), status: Type.String(), alignOrgId: Type.String(),
  keyLastFour: Type.String(), apiKeyCreatedAt: Timestamp, lastSyncAt: NullableTimestamp, lastErrorAt: NullableTimestamp,
  lastErrorMessage: NullableString, pausedUntil: NullableTimestamp, outbox: OutboxCountsView, oldestPendingAt: NullableTimestamp,
  // syncDirection, keyAge { days, thresholdDays, needsRotation }, initialSync / latestSyncRun { total, done, failed, pending, completed, … }
  ...ConnectionSyncFields,
  rateBudget: RateBudgetView,
})

export const adminRoutes: FastifyPluginAsyncTypebox<{ db: Kysely<Database>; now?: () => Date; keyMaxAgeDays?: number }> = async (
  app, { db, now = () => new Date(), keyMaxAgeDays = DEFAULT_KEY_MAX_AGE_DAYS },
) => {
  const platformAdmin = app.requireRole('platform_admin')

  app.post('/sync/retry-failed', {
    onRequest: platformAdmin,
    schema: { tags: ['admin'], body: RetryBody, response: { 200: Type.Object({ retried: Type.Integer() }), ...authErrors } },
  }, async (request) => {
    const retried = await db.transaction().execute((trx) => resetFailedOutboxRows(trx, request.body, now()))
    request.log.info({ retried, connectionId: request.body.connectionId }, 'failed outbox rows reset')
    return { retried }
  })

  app.get('/outbox', {
    onRequest: platformAdmin,
    schema: { tags: ['admin'], querystring: OutboxQuery, response: { 200: pageOf(OutboxRowView), ...authErrors } },
  }, async (request) => {
    const { query } = request
    const rows = await listOutbox(db, query, decodeSeqCursor(query.cursor), query.limit)
    return page(rows, query.limit, (r) => ({
      id: r.id, seq: String(r.seq), tenantId: r.tenant_id, companyId: r.company_id, connectionId: r.connection_id, entityType: r.entity_type,
      localId: r.local_id, operation: r.operation, status: r.status, attempts: r.attempts, lastAttemptAt: iso(r.last_attempt_at),
      nextRetryAt: r.next_retry_at.toISOString(), error: r.error, waitingFor: r.waiting_for, createdAt: r.created_at.toISOString(),
    }), (r) => encodeSeqCursor(String(r.seq)))
  })

  app.get('/outbox/summary', {
    onRequest: platformAdmin,
    schema: { tags: ['admin'], response: { 200: OutboxSummaryView, ...authErrors } },
  }, async () => {
    const { counts, oldestPendingAt } = await summarizeOutbox(db)
    return { counts, oldestPendingAt: iso(oldestPendingAt) }
  })

  app.get('/deliveries', {
    onRequest: platformAdmin,
    schema: { tags: ['admin'], querystring: DeliveriesQuery, response: { 200: pageOf(DeliveryView), ...authErrors } },
  }, async (request) => {
    const { query } = request
    const rows = await listDeliveries(db, query, decodeTimeCursor(query.cursor), query.limit)
    return page(rows, query.limit, (r) => ({
      id: r.id, deliveryId: r.delivery_id, eventName: r.event_name, tenantId: r.tenant_id, companyId: r.company_id,
      connectionId: r.connection_id, status: r.status, receivedAt: r.received_at.toISOString(), processedAt: iso(r.processed_at), error: r.error,
    }), (r) => encodeTimeCursor(r.cursor_at, r.id))
  })

  app.get('/reconciliation', {
    onRequest: platformAdmin,
    schema: { tags: ['admin'], querystring: ReconciliationQuery, response: { 200: pageOf(DiscrepancyView), ...authErrors } },
  }, async (request) => {
    const { query } = request
    const rows = await listReconciliation(db, query, decodeTimeCursor(query.cursor), query.limit)
    return page(rows, query.limit, (r) => ({
      id: r.id, tenantId: r.tenant_id, projectId: r.project_id, connectionId: r.connection_id, runId: r.run_id, field: r.field,
      illumeraValue: r.illumera_value, alignValue: r.align_value, detectedAt: r.detected_at.toISOString(),
    }), (r) => encodeTimeCursor(r.cursor_at, r.id))
  })

  app.get('/reconciliation/runs', {
    onRequest: platformAdmin,
    schema: { tags: ['admin'], querystring: RunsQuery, response: { 200: pageOf(RunView), ...authErrors } },
  }, async (request) => {
    const { query } = request
    const rows = await listReconciliationRuns(db, decodeTimeCursor(query.cursor), query.limit)
    return page(rows, query.limit, (r) => ({
      id: r.id, startedAt: r.started_at.toISOString(), finishedAt: iso(r.finished_at), outcome: r.outcome,
      connectionsChecked: r.connections_checked, connectionsIncomplete: r.connections_incomplete, projectsChecked: r.projects_checked,
      discrepancies: r.discrepancies, alignCalls: r.align_calls, error: r.error,
    }), (r) => encodeTimeCursor(r.cursor_at, r.id))
  })

  app.get('/connections', {
    onRequest: platformAdmin,
    schema: { tags: ['admin'], querystring: ConnectionsQuery, response: { 200: pageOf(ConnectionHealthView), ...authErrors } },
  }, async (request) => {
    const { query } = request
    const rows = await listConnections(db, query, decodeTimeCursor(query.cursor), query.limit)
    const ids = rows.slice(0, query.limit).map((r) => r.id)
    const progress = await loadSyncProgress(db, ids)
    const [counts, oldest, grants] = await Promise.all([countOutboxByStatus(db, ids), oldestPendingByConnection(db, ids), countRecentGrants(db, ids, now())])
    return page(rows, query.limit, (r) => ({
      id: r.id, tenantId: r.tenant_id, companyId: r.company_id, status: r.status, alignOrgId: r.align_org_id, keyLastFour: r.key_last_four,
      apiKeyCreatedAt: r.api_key_created_at.toISOString(), lastSyncAt: iso(r.last_sync_at), lastErrorAt: iso(r.last_error_at),
      lastErrorMessage: r.last_error_message, pausedUntil: iso(r.paused_until), outbox: counts.get(r.id)!, oldestPendingAt: iso(oldest.get(r.id) ?? null),
      ...toConnectionSyncFields(r, progress.get(r.id)!, now(), keyMaxAgeDays),
      rateBudget: rateBudgetOf(grants.get(r.id) ?? 0),
    }), (r) => encodeTimeCursor(r.cursor_at, r.id))
  })
}
