import { type AlignConnection, SyncDirectionSchema } from '@illumera/db-schema'
import { Type } from '@sinclair/typebox'
import { NullableString, Timestamp } from '../http/schemas.js'
import { type SyncProgress, SyncProgressFields } from '../sync/sync-runs.js'
import type { OutboxCounts } from './connections.queries.js'
import { keyAgeOf, KeyAgeView } from './key-age.js'

const NullableTimestamp = Type.Union([Timestamp, Type.Null()])

export const OutboxCountsView = Type.Object({
  pending: Type.Integer(), processing: Type.Integer(), done: Type.Integer(), failed: Type.Integer(),
})

/** Sync direction, key age and bulk sync progress: in the connection status and the admin dashboard alike. */
export const ConnectionSyncFields = {
  syncDirection: SyncDirectionSchema,
  keyAge: KeyAgeView,
  ...SyncProgressFields,
}

export function toConnectionSyncFields(row: AlignConnection, progress: SyncProgress, now: Date, keyMaxAgeDays: number) {
  return { syncDirection: row.sync_direction, keyAge: keyAgeOf(row.api_key_created_at, now, keyMaxAgeDays), ...progress }
}

/** Never the key or a secret: the last four characters of the key only. */
export const ConnectionView = Type.Object({
  id: Type.String(),
  companyId: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('error'), Type.Literal('disconnected')]),
  alignOrgId: Type.String(),
  alignKeyScope: Type.String(),
  keyLastFour: Type.String(),
  apiKeyCreatedAt: Timestamp,
  webhookUrl: NullableString,
  webhookSubscriptionId: NullableString,
  lastSyncAt: NullableTimestamp,
  lastErrorAt: NullableTimestamp,
  lastErrorMessage: NullableString,
  pausedUntil: NullableTimestamp,
  outbox: OutboxCountsView,
  createdAt: Timestamp,
  updatedAt: Timestamp,
  ...ConnectionSyncFields,
})

/** What a connection's view adds to its row: outbox counts, sync run progress, the clock and the key-age threshold. */
export interface ConnectionViewContext {
  outbox: OutboxCounts
  progress: SyncProgress
  now: Date
  keyMaxAgeDays: number
}

export function toConnectionView(row: AlignConnection, { outbox, progress, now, keyMaxAgeDays }: ConnectionViewContext) {
  return {
    id: row.id, companyId: row.company_id, status: row.status, alignOrgId: row.align_org_id, alignKeyScope: row.align_key_scope,
    keyLastFour: row.key_last_four, apiKeyCreatedAt: row.api_key_created_at.toISOString(), webhookUrl: row.webhook_url,
    webhookSubscriptionId: row.webhook_subscription_id, lastSyncAt: row.last_sync_at?.toISOString() ?? null,
    lastErrorAt: row.last_error_at?.toISOString() ?? null, lastErrorMessage: row.last_error_message,
    pausedUntil: row.paused_until?.toISOString() ?? null, outbox,
    createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString(),
    ...toConnectionSyncFields(row, progress, now, keyMaxAgeDays),
  }
}
