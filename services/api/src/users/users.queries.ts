import type { Database, PersonProfile, User, UserUpdate } from '@illumera/db-schema'
import type { Kysely } from 'kysely'

export type UserWithProfile = User & { person_id: string; title: string | null }

export async function insertTalentUser(
  db: Kysely<Database>,
  values: { tenantId: string; email: string; name: string; title: string | null },
): Promise<{ user: User; person: PersonProfile }> {
  const user = await db.insertInto('users')
    .values({ tenant_id: values.tenantId, email: values.email, name: values.name, role: 'talent' })
    .returningAll().executeTakeFirstOrThrow()
  const person = await db.insertInto('person_profiles')
    .values({ tenant_id: values.tenantId, user_id: user.id, title: values.title })
    .returningAll().executeTakeFirstOrThrow()
  return { user, person }
}

export function lockUserWithProfile(db: Kysely<Database>, tenantId: string, id: string): Promise<UserWithProfile | undefined> {
  return db.selectFrom('users')
    .innerJoin('person_profiles', 'person_profiles.user_id', 'users.id')
    .selectAll('users')
    .select(['person_profiles.id as person_id', 'person_profiles.title'])
    .where('users.id', '=', id).where('users.tenant_id', '=', tenantId)
    .forUpdate('users')
    .executeTakeFirst()
}

export function updateUser(db: Kysely<Database>, id: string, values: UserUpdate): Promise<User> {
  return db.updateTable('users').set(values).where('id', '=', id).returningAll().executeTakeFirstOrThrow()
}

export async function updatePersonTitle(db: Kysely<Database>, personId: string, title: string | null): Promise<void> {
  await db.updateTable('person_profiles').set({ title }).where('id', '=', personId).execute()
}

/** Companies where the person has an accepted engagement: each one's Align knows the user. */
export async function findCompaniesWithAcceptedEngagements(db: Kysely<Database>, personId: string): Promise<Array<{ tenant_id: string; company_id: string }>> {
  return db.selectFrom('engagements')
    .select(['tenant_id', 'company_id'])
    .distinct()
    .where('person_id', '=', personId).where('status', '=', 'accepted')
    .orderBy('company_id')
    .execute()
}
