// --fix: for an entity whose link is missing in Align, enqueue an outbox upsert built from the entity's
// current row (the same payloads the api writes), so the sync worker sends it again. Idempotent: nothing
// is enqueued while a pending or processing row for that entity and connection exists, so running --fix
// twice enqueues once. The check and the insert share one transaction.
//
// DESIGN: the upsert carries `recreateIfMissing: true`. A link missing in Align usually means the entity is
// gone there (a manager deleted the time entry, removed the member), and an ordinary upsert of a vanished time
// entry is a dead letter by design (hours deleted in Align are not resurrected behind anyone's back). A --fix
// is someone asking for the repair, so the worker then re-creates what Align answers 404 for, after a lookup
// by externalRef (services/sync-worker/src/outbox/recreate-missing.ts), and re-adds a membership.
import { type Database, type ExternalType, insertOutboxRow, type OutboxWrite } from '@illumera/db-schema'
import type { Kysely } from 'kysely'
import { findAcceptedEngagement, findLiveTimeEntry, findProject, findUser, hasOpenOutboxRow, listProjectSlots } from './fix.queries.js'
import type { ConnectionRow, LocalLink } from './reconcile.queries.js'

/** enqueued; already_queued (an open outbox row exists); entity_gone (nothing left to send). */
export type FixResult = 'enqueued' | 'already_queued' | 'entity_gone'

export async function enqueueLinkFix(db: Kysely<Database>, connection: ConnectionRow, link: LocalLink): Promise<FixResult> {
  return db.transaction().execute(async (trx) => {
    if (await hasOpenOutboxRow(trx, connection.id, link.external_type, link.external_id)) return 'already_queued'
    const write = await buildEntityUpsert(trx, connection, link.external_type, link.external_id)
    if (!write) return 'entity_gone'
    await insertOutboxRow(trx, withRecreateIfMissing(write))
    return 'enqueued'
  })
}

/** Every upsert payload declares the optional marker (@illumera/db-schema outbox.ts). */
function withRecreateIfMissing(write: OutboxWrite): OutboxWrite {
  return { ...write, payload: { ...write.payload, recreateIfMissing: true } } as OutboxWrite
}

/** The upsert the api would write for this entity now; null when nothing is left to send. */
export async function buildEntityUpsert(db: Kysely<Database>, connection: ConnectionRow, externalType: ExternalType, externalId: string): Promise<OutboxWrite | null> {
  const base = { tenantId: connection.tenant_id, companyId: connection.company_id, connectionId: connection.id, localId: externalId, operation: 'upsert' as const }
  switch (externalType) {
    case 'project': {
      const project = await findProject(db, connection.tenant_id, externalId)
      if (!project) return null
      return { ...base, entityType: 'project', payload: { name: project.name, description: project.description, timeBillingEnabled: project.time_billing_enabled } }
    }
    case 'wiki_page': {
      const project = await findProject(db, connection.tenant_id, externalId)
      if (!project) return null
      const slots = await listProjectSlots(db, project.id)
      return {
        ...base, entityType: 'wiki_page',
        payload: {
          localProjectId: project.id, projectName: project.name,
          slots: slots.map((s) => ({ roleTitle: s.role_title, openings: s.openings, hourlyRateCents: s.hourly_rate_cents, notes: s.notes })),
        },
      }
    }
    case 'user': {
      const user = await findUser(db, connection.tenant_id, externalId)
      if (!user) return null
      return { ...base, entityType: 'user', payload: { email: user.email, name: user.name, role: user.role } }
    }
    case 'project_member': {
      const engagement = await findAcceptedEngagement(db, connection.tenant_id, externalId)
      if (!engagement) return null
      return { ...base, entityType: 'project_member', payload: { localProjectId: engagement.project_id, localUserId: engagement.user_id } }
    }
    case 'time_entry': {
      const entry = await findLiveTimeEntry(db, connection.tenant_id, externalId)
      if (!entry) return null
      return {
        ...base, entityType: 'time_entry',
        payload: {
          localProjectId: entry.project_id, localUserId: entry.user_id, workDate: entry.work_date, minutes: entry.minutes, notes: entry.notes,
          timeBillingEnabled: entry.time_billing_enabled, isAdjustment: entry.is_adjustment, adjustsEntryId: entry.adjusts_entry_id,
        },
      }
    }
    default:
      return null
  }
}
