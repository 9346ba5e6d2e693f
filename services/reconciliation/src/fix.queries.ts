// --fix: the rows an outbox upsert is rebuilt from, and the check that keeps re-enqueueing idempotent.
import type { Database, OutboxEntityType, Project, ProjectSlot, TimeEntry, User } from '@illumera/db-schema'
import type { Kysely } from 'kysely'

/** A pending or processing outbox row of this connection for the entity: it is on its way already. */
export async function hasOpenOutboxRow(db: Kysely<Database>, connectionId: string, entityType: OutboxEntityType, localId: string): Promise<boolean> {
  const row = await db.selectFrom('align_sync_outbox').select('id')
    .where('connection_id', '=', connectionId).where('entity_type', '=', entityType).where('local_id', '=', localId)
    .where('status', 'in', ['pending', 'processing'])
    .limit(1).executeTakeFirst()
  return row !== undefined
}

export function findProject(db: Kysely<Database>, tenantId: string, id: string): Promise<Project | undefined> {
  return db.selectFrom('projects').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst()
}

export function listProjectSlots(db: Kysely<Database>, projectId: string): Promise<ProjectSlot[]> {
  return db.selectFrom('project_slots').selectAll().where('project_id', '=', projectId).orderBy('created_at').orderBy('id').execute()
}

export function findUser(db: Kysely<Database>, tenantId: string, id: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst()
}

/** An accepted engagement with the user id of its person. */
export function findAcceptedEngagement(db: Kysely<Database>, tenantId: string, id: string) {
  return db.selectFrom('engagements as e').innerJoin('person_profiles as p', 'p.id', 'e.person_id')
    .select(['e.id', 'e.project_id', 'p.user_id'])
    .where('e.tenant_id', '=', tenantId).where('e.id', '=', id).where('e.status', '=', 'accepted')
    .executeTakeFirst()
}

/** A live entry made here, with the user who logged it and its project's billing flag. */
export function findLiveTimeEntry(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
): Promise<(TimeEntry & { user_id: string; time_billing_enabled: boolean }) | undefined> {
  return db.selectFrom('time_entries as t')
    .innerJoin('person_profiles as p', 'p.id', 't.person_id')
    .innerJoin('projects as pr', 'pr.id', 't.project_id')
    .selectAll('t').select(['p.user_id', 'pr.time_billing_enabled'])
    .where('t.tenant_id', '=', tenantId).where('t.id', '=', id)
    .where('t.deleted_at', 'is', null).where('t.source', '=', 'illumera')
    .executeTakeFirst()
}
