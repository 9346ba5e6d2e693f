// Resync reads: the company's entities that Align already holds (linked) and whose Align record carries a
// mapped field, skipping those with an upsert still queued for this connection (that one will be built with
// the current mappings anyway), so asking twice enqueues nothing twice.
import type { Database, Engagement, OutboxEntityType, Project, TimeEntry, User } from '@illumera/db-schema'
import { type Kysely, type SqlBool, sql } from 'kysely'
import type { BackfillScope } from './backfill.queries.js'

function linkedAndNotQueued(scope: BackfillScope, linkType: string, outboxType: OutboxEntityType, idRef: string) {
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

/** Linked users (role mapping). */
export function findResyncUsers(db: Kysely<Database>, scope: BackfillScope): Promise<User[]> {
  return db.selectFrom('users').selectAll()
    .where('tenant_id', '=', scope.tenantId)
    .where(linkedAndNotQueued(scope, 'user', 'user', 'users.id'))
    .orderBy('created_at').orderBy('id')
    .execute()
}

/** Linked memberships of accepted engagements (role mapping: the member's role override). */
export function findResyncMembers(db: Kysely<Database>, scope: BackfillScope): Promise<Array<Engagement & { user_id: string }>> {
  return db.selectFrom('engagements')
    .innerJoin('person_profiles', 'person_profiles.id', 'engagements.person_id')
    .selectAll('engagements').select('person_profiles.user_id')
    .where('engagements.tenant_id', '=', scope.tenantId).where('engagements.company_id', '=', scope.companyId)
    .where('engagements.status', '=', 'accepted')
    .where(linkedAndNotQueued(scope, 'project_member', 'project_member', 'engagements.id'))
    .orderBy('engagements.created_at').orderBy('engagements.id')
    .execute()
}

/**
 * Linked draft entries made here (description template, billable). Align changes only draft (and rejected)
 * entries, and an update would move a rejected one back to draft there; entries imported from Align are
 * Align's own and are not pushed back.
 */
export function findResyncTimeEntries(db: Kysely<Database>, scope: BackfillScope): Promise<Array<TimeEntry & { user_id: string; time_billing_enabled: boolean }>> {
  return db.selectFrom('time_entries')
    .innerJoin('person_profiles', 'person_profiles.id', 'time_entries.person_id')
    .innerJoin('projects', 'projects.id', 'time_entries.project_id')
    .selectAll('time_entries').select(['person_profiles.user_id', 'projects.time_billing_enabled'])
    .where('time_entries.tenant_id', '=', scope.tenantId).where('time_entries.company_id', '=', scope.companyId)
    .where('time_entries.deleted_at', 'is', null).where('time_entries.source', '=', 'illumera').where('time_entries.status', '=', 'draft')
    .where(linkedAndNotQueued(scope, 'time_entry', 'time_entry', 'time_entries.id'))
    .orderBy('time_entries.created_at').orderBy('time_entries.id')
    .execute()
}

/** Projects whose staffing wiki page is linked (page title). */
export function findResyncWikiProjects(db: Kysely<Database>, scope: BackfillScope): Promise<Project[]> {
  return db.selectFrom('projects').selectAll()
    .where('tenant_id', '=', scope.tenantId).where('company_id', '=', scope.companyId)
    .where(linkedAndNotQueued(scope, 'wiki_page', 'wiki_page', 'projects.id'))
    .orderBy('created_at').orderBy('id')
    .execute()
}
