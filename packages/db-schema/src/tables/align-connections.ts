import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely'
import type { SyncDirection } from '../connection-settings.js'
import type { CreatedAt, GeneratedId, NullableTimestamp, TimestampWithDefault, UpdatedAt } from './common.js'

export type AlignConnectionStatus = 'active' | 'error' | 'disconnected'

/**
 * One row per company–Align connection; at most one `active` per (tenant_id, company_id).
 * Reference columns first, then ours (each says what needs it).
 */
export interface AlignConnectionsTable {
  id: GeneratedId
  tenant_id: string
  company_id: string
  /** Versioned AES-256-GCM ciphertext bound to (row id, column); see service-kit secrets. */
  encrypted_api_key: string
  key_last_four: string
  align_org_id: string
  align_key_scope: string
  webhook_subscription_id: string | null
  /** Encrypted one-time hmacSecret from POST /webhooks. */
  webhook_secret: string | null
  webhook_url: string | null
  status: Generated<AlignConnectionStatus>
  last_sync_at: NullableTimestamp
  last_error_at: NullableTimestamp
  last_error_message: string | null
  created_at: CreatedAt
  updated_at: UpdatedAt
  // ── beyond the reference ──
  /** Random token in the registered webhook URL path, so a delivery names its connection. */
  webhook_path_token: string | null
  /** The secret replaced by a re-subscription, still accepted until the expiry below. */
  previous_webhook_secret: string | null
  previous_webhook_secret_expires_at: NullableTimestamp
  /** When the current Align API key was stored (key-age warnings). */
  api_key_created_at: TimestampWithDefault
  /** Align said 429 (or the shared budget ran dry): nothing calls Align for this connection before this. */
  paused_until: NullableTimestamp
  /** Where new records are created: see connection-settings.ts. */
  sync_direction: Generated<SyncDirection>
  /** Overrides of DEFAULT_FIELD_MAPPINGS (a partial FieldMappings object); read with effectiveFieldMappings(). */
  field_mappings: ColumnType<unknown, string | undefined, string>
  /** When sync_direction or field_mappings last changed (null: never). */
  settings_updated_at: NullableTimestamp
}
export type AlignConnection = Selectable<AlignConnectionsTable>
export type NewAlignConnection = Insertable<AlignConnectionsTable>
export type AlignConnectionUpdate = Updateable<AlignConnectionsTable>
