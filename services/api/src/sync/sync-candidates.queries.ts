// The reads behind backfill and resync: one base query per entity (what of the company Align must hold),
// narrowed by what each run needs.
// - backfill (notKnown): entities Align does not know yet. "Known" means linked (align_entity_links) or
//   already on its way (an open outbox row of this connection), so running the backfill twice enqueues
//   nothing new.
// - resync (linkedAndNotQueued): entities Align already holds and whose Align record carries a mapped field,
//   skipping those with an upsert still queued for this connection (that one will be built with the current
//   mappings anyway), so asking twice enqueues nothing twice.
import type { Database, Engagement, OutboxEntityType, Project, TimeEntry, User } from '@illumera/db-schema'
import { type Kysely, type SqlBool, sql } from 'kysely'

export interface SyncScope {
  tenantId: string
  companyId: string
  connectionId: string
}

function notKnown(scope: SyncScope, linkType: string, outboxTypes: OutboxEntityType[], idRef: string) {
  return sql<SqlBool>`not exists (
      select 1 from align_entity_links l
      where l.tenant_id = ${scope.tenantId} and l.external_type = ${linkType} and l.external_id = ${sql.ref(idRef)})
    and not exists (
      select 1 from align_sync_outbox o
      where o.tenant_id = ${scope.tenantId} and o.connection_id = ${scope.connectionId}
        and o.entity_type in (${sql.join(outboxTypes)}) and o.local_id = ${sql.ref(idRef)}
        and o.status in ('pending', 'processing'))`
}

function linkedAndNotQueued(scope: SyncScope, linkType: string, outboxType: OutboxEntityType, idRef: string) {
  return sql<SqlBool>`exists (
      select 1 from align_entity_links l
      where l.tenant_id = ${scope.tenantId} and l.company_id = ${scope.companyId}
        and l.external_type = ${linkType} and l.external_id = ${sql.ref(idRef)})
    and not exists (
      select 1 from align_sync_outbox o
      where o.tenant_id = ${scope.tenantId} and o.connection_id = ${scope.connectionId}
        and o.entity_type = ${outboxType} and o.local_id = ${sql.ref(idRef)} and o.operation = 'upsert'
        and o.status = 'pending')`
}

// ── the base queries ──

function companyProjects(db: Kysely<Database>, scope: SyncScope) {
  return db.selectFrom('projects').selectAll()
    .where('tenant_id', '=', scope.tenantId).where('company_id', '=', scope.companyId)
    .orderBy('created_at').orderBy('id')
}

function tenantUsers(db: Kysely<Database>, scope: SyncScope) {
  return db.selectFrom('users').selectAll()
    .where('tenant_id', '=', scope.tenantId)
    .orderBy('created_at').orderBy('id')
}

/** Memberships Align must hold: the company's accepted engagements, with the talent's user id. */
function acceptedEngagements(db: Kysely<Database>, scope: SyncScope) {
  return db.selectFrom('engagements')
    .innerJoin('person_profiles', 'person_profiles.id', 'engagements.person_id')
    .selectAll('engagements').select('person_profiles.user_id')
    .where('engagements.tenant_id', '=', scope.tenantId).where('engagements.company_id', '=', scope.companyId)
    .where('engagements.status', '=', 'accepted')
    .orderBy('engagements.created_at').orderBy('engagements.id')
}

/** Live entries made here (entries imported from Align are Align's already), with what their payload needs. */
function ownTimeEntries(db: Kysely<Database>, scope: SyncScope) {
  return db.selectFrom('time_entries')
    .innerJoin('person_profiles', 'person_profiles.id', 'time_entries.person_id')
    .innerJoin('projects', 'projects.id', 'time_entries.project_id')
    .selectAll('time_entries').select(['person_profiles.user_id', 'projects.time_billing_enabled'])
    .where('time_entries.tenant_id', '=', scope.tenantId).where('time_entries.company_id', '=', scope.companyId)
    .where('time_entries.deleted_at', 'is', null).where('time_entries.source', '=', 'illumera')
    .orderBy('time_entries.created_at').orderBy('time_entries.id')
}

type EntryWithPayloadFields = TimeEntry & { user_id: string; time_billing_enabled: boolean }

// ── backfill ──

export function findUnsyncedProjects(db: Kysely<Database>, scope: SyncScope): Promise<Project[]> {
  return companyProjects(db, scope).where(notKnown(scope, 'project', ['project'], 'projects.id')).execute()
}

/** Users of the company's accepted engagements (the ones Align must know). */
export function findUnsyncedUsers(db: Kysely<Database>, scope: SyncScope): Promise<User[]> {
  return tenantUsers(db, scope)
    .where('id', 'in', acceptedEngagements(db, scope).clearSelect().clearOrderBy().select('person_profiles.user_id'))
    .where(notKnown(scope, 'user', ['user'], 'users.id'))
    .execute()
}

export function findUnsyncedMembers(db: Kysely<Database>, scope: SyncScope): Promise<Array<Engagement & { user_id: string }>> {
  return acceptedEngagements(db, scope).where(notKnown(scope, 'project_member', ['project_member'], 'engagements.id')).execute()
}

export function findUnsyncedTimeEntries(db: Kysely<Database>, scope: SyncScope): Promise<EntryWithPayloadFields[]> {
  return ownTimeEntries(db, scope).where(notKnown(scope, 'time_entry', ['time_entry', 'time_entry_submit'], 'time_entries.id')).execute()
}

export function findUnsyncedWikiProjects(db: Kysely<Database>, scope: SyncScope): Promise<Project[]> {
  return companyProjects(db, scope).where('status', '=', 'active').where(notKnown(scope, 'wiki_page', ['wiki_page'], 'projects.id')).execute()
}

// ── resync ──

/** Linked users (role mapping). */
export function findResyncUsers(db: Kysely<Database>, scope: SyncScope): Promise<User[]> {
  return tenantUsers(db, scope).where(linkedAndNotQueued(scope, 'user', 'user', 'users.id')).execute()
}

/** Linked memberships of accepted engagements (role mapping: the member's role override). */
export function findResyncMembers(db: Kysely<Database>, scope: SyncScope): Promise<Array<Engagement & { user_id: string }>> {
  return acceptedEngagements(db, scope).where(linkedAndNotQueued(scope, 'project_member', 'project_member', 'engagements.id')).execute()
}

/**
 * Linked draft entries made here (description template, billable). Align changes only draft (and rejected)
 * entries, and an update would move a rejected one back to draft there.
 */
export function findResyncTimeEntries(db: Kysely<Database>, scope: SyncScope): Promise<EntryWithPayloadFields[]> {
  return ownTimeEntries(db, scope).where('time_entries.status', '=', 'draft')
    .where(linkedAndNotQueued(scope, 'time_entry', 'time_entry', 'time_entries.id')).execute()
}

/** Projects whose staffing wiki page is linked (page title). */
export function findResyncWikiProjects(db: Kysely<Database>, scope: SyncScope): Promise<Project[]> {
  return companyProjects(db, scope).where(linkedAndNotQueued(scope, 'wiki_page', 'wiki_page', 'projects.id')).execute()
}
