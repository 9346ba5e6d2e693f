// Outbox payloads: what each producer writes and the sync worker reads, one TypeBox schema per entity type,
// and the one write every producer shares (insertOutboxRow). Payloads are snapshots of the entity at commit
// time; the worker applies the connection's field mappings when it builds the Align call.
import { type Static, Type } from '@sinclair/typebox'
import { type Kysely, sql } from 'kysely'
import type { Database } from './database.js'
import type { OutboxEntityType, OutboxOperation } from './tables/align-sync-outbox.js'

/** NOTIFY channel the worker LISTENs on; delivered when the producing transaction commits. */
export const OUTBOX_NOTIFY_CHANNEL = 'align_sync_outbox'

/**
 * Set on upserts that repair an entity Align lost (reconciliation --fix, the api's resync of memberships): the
 * worker then re-creates the entity when Align answers 404 for the update, instead of dead-lettering the row
 * (services/sync-worker/src/outbox/recreate-missing.ts). Ordinary upserts leave it unset.
 */
const RecreateIfMissing = { recreateIfMissing: Type.Optional(Type.Boolean()) }

export const ProjectPayload = Type.Object({
  name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  timeBillingEnabled: Type.Boolean(),
  ...RecreateIfMissing,
})

export const StaffingSlot = Type.Object({
  roleTitle: Type.String(),
  openings: Type.Integer(),
  hourlyRateCents: Type.Union([Type.Integer(), Type.Null()]),
  notes: Type.Union([Type.String(), Type.Null()]),
})

export const WikiPagePayload = Type.Object({
  localProjectId: Type.String(),
  projectName: Type.String(),
  slots: Type.Array(StaffingSlot),
  ...RecreateIfMissing,
})

export const UserPayload = Type.Object({
  email: Type.String(),
  name: Type.String(),
  role: Type.Union([Type.Literal('talent'), Type.Literal('hiring_manager')]),
  ...RecreateIfMissing,
})

export const ProjectMemberPayload = Type.Object({
  localProjectId: Type.String(),
  localUserId: Type.String(),
  ...RecreateIfMissing,
})

export const TimeEntryPayload = Type.Object({
  localProjectId: Type.String(),
  localUserId: Type.String(),
  workDate: Type.String(),
  minutes: Type.Integer(),
  notes: Type.Union([Type.String(), Type.Null()]),
  timeBillingEnabled: Type.Boolean(),
  isAdjustment: Type.Boolean(),
  adjustsEntryId: Type.Union([Type.String(), Type.Null()]),
  ...RecreateIfMissing,
})

/** time_entry_submit and time_entry_unlock act on the entry named by local_id. */
export const TimeEntryActionPayload = Type.Object({})

export const OutboxPayloadSchemas = {
  project: ProjectPayload,
  wiki_page: WikiPagePayload,
  user: UserPayload,
  project_member: ProjectMemberPayload,
  time_entry: TimeEntryPayload,
  time_entry_submit: TimeEntryActionPayload,
  time_entry_unlock: TimeEntryActionPayload,
} satisfies Record<OutboxEntityType, unknown>

export type OutboxPayloads = { [K in OutboxEntityType]: Static<(typeof OutboxPayloadSchemas)[K]> }

export type OutboxWrite = {
  [K in OutboxEntityType]: {
    tenantId: string
    companyId: string
    connectionId: string
    entityType: K
    localId: string
    operation: OutboxOperation
    /** Deletes carry no payload. */
    payload: OutboxPayloads[K] | null
  }
}[OutboxEntityType]

/**
 * Writes one outbox row and a NOTIFY in the caller's transaction, so the row and its wake-up exist
 * exactly when the domain change commits.
 */
export async function insertOutboxRow(trx: Kysely<Database>, write: OutboxWrite): Promise<string> {
  const row = await trx
    .insertInto('align_sync_outbox')
    .values({
      tenant_id: write.tenantId,
      company_id: write.companyId,
      connection_id: write.connectionId,
      entity_type: write.entityType,
      local_id: write.localId,
      operation: write.operation,
      payload: write.payload === null ? null : JSON.stringify(write.payload),
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  await sql`select pg_notify(${OUTBOX_NOTIFY_CHANNEL}, ${write.connectionId})`.execute(trx)
  return row.id
}
