import type { Database, Engagement, EngagementUpdate, NewEngagement, User } from '@illumera/db-schema'
import type { Kysely } from 'kysely'
import type { CompanyScope } from '../projects/projects.queries.js'

export type EngagementWithUser = Engagement & { user_id: string }

export function findPersonOfUser(db: Kysely<Database>, tenantId: string, userId: string): Promise<{ id: string; user_id: string } | undefined> {
  return db.selectFrom('person_profiles').select(['id', 'user_id'])
    .where('user_id', '=', userId).where('tenant_id', '=', tenantId)
    .executeTakeFirst()
}

export function insertEngagement(db: Kysely<Database>, values: NewEngagement): Promise<Engagement> {
  return db.insertInto('engagements').values(values).returningAll().executeTakeFirstOrThrow()
}

/**
 * The engagement (with its person's user id), locked so status changes of one engagement serialize. FOR NO KEY
 * UPDATE, not FOR UPDATE: a status change leaves the keys alone, and a time entry's foreign-key check (FOR KEY
 * SHARE of this row) need not wait for it; under load that check runs in a statement shared with other
 * tenants' creates (createTimeEntryBatcher).
 */
export function lockEngagement(db: Kysely<Database>, scope: CompanyScope, id: string): Promise<EngagementWithUser | undefined> {
  return db.selectFrom('engagements')
    .innerJoin('person_profiles', 'person_profiles.id', 'engagements.person_id')
    .selectAll('engagements')
    .select('person_profiles.user_id')
    .where('engagements.id', '=', id)
    .where('engagements.tenant_id', '=', scope.tenantId)
    .where('engagements.company_id', '=', scope.companyId)
    .forNoKeyUpdate('engagements')
    .executeTakeFirst()
}

export function updateEngagement(db: Kysely<Database>, id: string, values: EngagementUpdate): Promise<Engagement> {
  return db.updateTable('engagements').set(values).where('id', '=', id).returningAll().executeTakeFirstOrThrow()
}

export function findUser(db: Kysely<Database>, id: string): Promise<User> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
}
