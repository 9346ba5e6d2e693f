// SQL of the event handlers: time entries and entity links, always scoped to the connection's
// tenant and company. Every function runs inside the delivery's transaction.
import type { Database, ExternalType, TimeEntry, TimeEntryStatus, TimeEntryUpdate } from '@illumera/db-schema'
import type { Transaction } from 'kysely'

export interface Scope {
  tenantId: string
  companyId: string
}

/** The Illumera id linked to an Align entity, or undefined. */
export async function findLinkedExternalId(
  trx: Transaction<Database>,
  scope: Scope,
  externalType: ExternalType,
  alignEntityType: string,
  alignEntityId: string,
): Promise<string | undefined> {
  const row = await trx.selectFrom('align_entity_links')
    .select('external_id')
    .where('tenant_id', '=', scope.tenantId)
    .where('company_id', '=', scope.companyId)
    .where('external_type', '=', externalType)
    .where('align_entity_type', '=', alignEntityType)
    .where('align_entity_id', '=', alignEntityId)
    .executeTakeFirst()
  return row?.external_id
}

/** The link of an Align entity whatever its Illumera side (for conflict checks). */
export function findLinkByAlignEntity(trx: Transaction<Database>, scope: Scope, alignEntityType: string, alignEntityId: string) {
  return trx.selectFrom('align_entity_links')
    .select(['id', 'external_type', 'external_id', 'company_id'])
    .where('tenant_id', '=', scope.tenantId)
    .where('align_entity_type', '=', alignEntityType)
    .where('align_entity_id', '=', alignEntityId)
    .executeTakeFirst()
}

/**
 * The time entry linked to an Align time entry, locked until the transaction ends. The link is found
 * through exactly its unique (tenant_id, align_entity_type, align_entity_id) key and the entry by primary
 * key (the company is checked on the entry): filtering links by company too lets the planner pick the
 * company index and walk every link of a big company.
 */
export function lockLinkedTimeEntry(trx: Transaction<Database>, scope: Scope, alignTimeEntryId: string): Promise<TimeEntry | undefined> {
  return trx.selectFrom('time_entries')
    .selectAll()
    .where('id', '=', (eb) => eb.selectFrom('align_entity_links')
      .select('external_id')
      .where('tenant_id', '=', scope.tenantId)
      .where('align_entity_type', '=', 'time_entry')
      .where('align_entity_id', '=', alignTimeEntryId))
    .where('tenant_id', '=', scope.tenantId)
    .where('company_id', '=', scope.companyId)
    .forUpdate()
    .executeTakeFirst()
}

/** A time entry of this company by its Illumera id, locked (the externalRef fallback when no link exists yet). */
export function lockTimeEntryById(trx: Transaction<Database>, scope: Scope, id: string): Promise<TimeEntry | undefined> {
  return trx.selectFrom('time_entries')
    .selectAll()
    .where('id', '=', id)
    .where('tenant_id', '=', scope.tenantId)
    .where('company_id', '=', scope.companyId)
    .forUpdate()
    .executeTakeFirst()
}

/**
 * A handler's time entry update that the pipeline may send together with "mark processed" (one round
 * trip instead of two, same transaction). Without a collector the update runs at once.
 */
export interface DeferredEntryUpdate {
  pending?: { id: string; set: TimeEntryUpdate }
}

export async function updateTimeEntry(trx: Transaction<Database>, id: string, set: TimeEntryUpdate, deferred?: DeferredEntryUpdate): Promise<void> {
  if (deferred && !deferred.pending) {
    deferred.pending = { id, set }
    return
  }
  await trx.updateTable('time_entries').set(set).where('id', '=', id).execute()
}

/** The person profile of an Illumera user of this tenant. */
export async function findPersonIdByUserId(trx: Transaction<Database>, scope: Scope, userId: string): Promise<string | undefined> {
  const row = await trx.selectFrom('person_profiles')
    .select('id')
    .where('tenant_id', '=', scope.tenantId)
    .where('user_id', '=', userId)
    .executeTakeFirst()
  return row?.id
}

/** The accepted engagement of a person on a project of this company (the latest, should there be several). */
export function findAcceptedEngagement(trx: Transaction<Database>, scope: Scope, projectId: string, personId: string) {
  return trx.selectFrom('engagements')
    .select(['id', 'project_id', 'person_id'])
    .where('tenant_id', '=', scope.tenantId)
    .where('company_id', '=', scope.companyId)
    .where('project_id', '=', projectId)
    .where('person_id', '=', personId)
    .where('status', '=', 'accepted')
    .orderBy('accepted_at', (ob) => ob.desc().nullsLast())
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst()
}

export interface ImportedTimeEntry {
  engagementId: string
  projectId: string
  personId: string
  workDate: string
  minutes: number
  notes: string | null
  status: TimeEntryStatus
  rejectionReason: string | null
}

/** An entry made in Align: source 'align', already in sync. No outbox row: it must never travel back. */
export async function insertImportedTimeEntry(trx: Transaction<Database>, scope: Scope, entry: ImportedTimeEntry): Promise<string> {
  const row = await trx.insertInto('time_entries')
    .values({
      tenant_id: scope.tenantId,
      company_id: scope.companyId,
      project_id: entry.projectId,
      engagement_id: entry.engagementId,
      person_id: entry.personId,
      work_date: entry.workDate,
      minutes: entry.minutes,
      notes: entry.notes,
      status: entry.status,
      rejection_reason: entry.rejectionReason,
      source: 'align',
      sync_status: 'synced',
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  return row.id
}

type EntityLinkInput = { externalType: ExternalType; externalId: string; alignEntityType: string; alignEntityId: string }

function linkRow(scope: Scope, link: EntityLinkInput) {
  return {
    tenant_id: scope.tenantId,
    company_id: scope.companyId,
    provider: 'illumera',
    external_type: link.externalType,
    external_id: link.externalId,
    align_entity_type: link.alignEntityType,
    align_entity_id: link.alignEntityId,
  }
}

export async function insertEntityLink(
  trx: Transaction<Database>,
  scope: Scope,
  link: EntityLinkInput,
): Promise<void> {
  await trx.insertInto('align_entity_links')
    .values(linkRow(scope, link))
    .execute()
}

/** Creates the link of an Illumera entity, or points its existing link at this Align entity. */
export async function upsertEntityLink(
  trx: Transaction<Database>,
  scope: Scope,
  link: EntityLinkInput,
): Promise<void> {
  await trx.insertInto('align_entity_links')
    .values(linkRow(scope, link))
    .onConflict((oc) => oc.columns(['tenant_id', 'external_type', 'external_id']).doUpdateSet({
      company_id: scope.companyId,
      align_entity_type: link.alignEntityType,
      align_entity_id: link.alignEntityId,
    }))
    .execute()
}

/** Whether an engagement (project_member) exists in this company. */
export async function engagementExists(trx: Transaction<Database>, scope: Scope, id: string): Promise<boolean> {
  const row = await trx.selectFrom('engagements').select('id')
    .where('id', '=', id).where('tenant_id', '=', scope.tenantId).where('company_id', '=', scope.companyId)
    .executeTakeFirst()
  return row !== undefined
}

/** Whether a project (whose staffing wiki page Align holds) exists in this company. */
export async function projectExists(trx: Transaction<Database>, scope: Scope, id: string): Promise<boolean> {
  const row = await trx.selectFrom('projects').select('id')
    .where('id', '=', id).where('tenant_id', '=', scope.tenantId).where('company_id', '=', scope.companyId)
    .executeTakeFirst()
  return row !== undefined
}
