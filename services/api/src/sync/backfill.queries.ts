// Backfill reads: the company's entities that Align does not know yet. "Known" means linked
// (align_entity_links) or already on its way (an open outbox row of this connection), so running the
// backfill twice enqueues nothing new.
import type { Database, Engagement, OutboxEntityType, Project, TimeEntry, User } from '@illumera/db-schema'
import { type Kysely, type SqlBool, sql } from 'kysely'

export interface BackfillScope {
  tenantId: string
  companyId: string
  connectionId: string
}

function notKnown(scope: BackfillScope, linkType: string, outboxTypes: OutboxEntityType[], idRef: string) {
  return sql<SqlBool>`not exists (
      select 1 from align_entity_links l
      where l.tenant_id = ${scope.tenantId} and l.external_type = ${linkType} and l.external_id = ${sql.ref(idRef)})
    and not exists (
      select 1 from align_sync_outbox o
      where o.tenant_id = ${scope.tenantId} and o.connection_id = ${scope.connectionId}
        and o.entity_type in (${sql.join(outboxTypes)}) and o.local_id = ${sql.ref(idRef)}
        and o.status in ('pending', 'processing'))`
}

export function findUnsyncedProjects(db: Kysely<Database>, scope: BackfillScope): Promise<Project[]> {
  return db.selectFrom('projects').selectAll()
    .where('tenant_id', '=', scope.tenantId).where('company_id', '=', scope.companyId)
    .where(notKnown(scope, 'project', ['project'], 'projects.id'))
    .orderBy('created_at').orderBy('id')
    .execute()
}

/** Users of the company's accepted engagements (the ones Align must know). */
export function findUnsyncedUsers(db: Kysely<Database>, scope: BackfillScope): Promise<User[]> {
  return db.selectFrom('users').selectAll()
    .where('tenant_id', '=', scope.tenantId)
    .where('id', 'in', (eb) => eb.selectFrom('engagements')
      .innerJoin('person_profiles', 'person_profiles.id', 'engagements.person_id')
      .select('person_profiles.user_id')
      .where('engagements.tenant_id', '=', scope.tenantId).where('engagements.company_id', '=', scope.companyId)
      .where('engagements.status', '=', 'accepted'))
    .where(notKnown(scope, 'user', ['user'], 'users.id'))
    .orderBy('created_at').orderBy('id')
    .execute()
}

export function findUnsyncedMembers(db: Kysely<Database>, scope: BackfillScope): Promise<Array<Engagement & { user_id: string }>> {
  return db.selectFrom('engagements')
    .innerJoin('person_profiles', 'person_profiles.id', 'engagements.person_id')
    .selectAll('engagements').select('person_profiles.user_id')
    .where('engagements.tenant_id', '=', scope.tenantId).where('engagements.company_id', '=', scope.companyId)
    .where('engagements.status', '=', 'accepted')
    .where(notKnown(scope, 'project_member', ['project_member'], 'engagements.id'))
    .orderBy('engagements.created_at').orderBy('engagements.id')
    .execute()
}

/** Live entries made here (entries imported from Align are Align's already). */
export function findUnsyncedTimeEntries(db: Kysely<Database>, scope: BackfillScope): Promise<Array<TimeEntry & { user_id: string; time_billing_enabled: boolean }>> {
  return db.selectFrom('time_entries')
    .innerJoin('person_profiles', 'person_profiles.id', 'time_entries.person_id')
    .innerJoin('projects', 'projects.id', 'time_entries.project_id')
    .selectAll('time_entries').select(['person_profiles.user_id', 'projects.time_billing_enabled'])
    .where('time_entries.tenant_id', '=', scope.tenantId).where('time_entries.company_id', '=', scope.companyId)
    .where('time_entries.deleted_at', 'is', null).where('time_entries.source', '=', 'illumera')
    .where(notKnown(scope, 'time_entry', ['time_entry', 'time_entry_submit'], 'time_entries.id'))
    .orderBy('time_entries.created_at').orderBy('time_entries.id')
    .execute()
}

export function findUnsyncedWikiProjects(db: Kysely<Database>, scope: BackfillScope): Promise<Project[]> {
  return db.selectFrom('projects').selectAll()
    .where('tenant_id', '=', scope.tenantId).where('company_id', '=', scope.companyId).where('status', '=', 'active')
    .where(notKnown(scope, 'wiki_page', ['wiki_page'], 'projects.id'))
    .orderBy('created_at').orderBy('id')
    .execute()
}
