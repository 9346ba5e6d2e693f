import type { Generated, Insertable, Selectable, Updateable } from 'kysely'
import type { GeneratedId, NullableTimestamp, TimestampWithDefault } from './common.js'

export type AlignDeliveryStatus = 'received' | 'processed' | 'failed'

/** Every inbound Align webhook delivery, unique by delivery_id. */
export interface AlignWebhookDeliveriesTable {
  id: GeneratedId
  delivery_id: string
  event_name: string
  tenant_id: string | null
  company_id: string | null
  payload: unknown | null
  status: Generated<AlignDeliveryStatus>
  received_at: TimestampWithDefault
  processed_at: NullableTimestamp
  error: string | null
  // ── beyond the reference ──
  connection_id: string | null
  /** sha256 of the signed raw body: a replayed body under a new delivery id is recorded, not applied twice. */
  body_sha256: string | null
}
export type AlignWebhookDelivery = Selectable<AlignWebhookDeliveriesTable>
export type NewAlignWebhookDelivery = Insertable<AlignWebhookDeliveriesTable>
export type AlignWebhookDeliveryUpdate = Updateable<AlignWebhookDeliveriesTable>
