// Row builders for tests: each inserts one valid row with sensible defaults and returns it.
// Overrides name only what a test cares about.
import { randomUUID } from 'node:crypto'
import type {
  AlignConnection, CompanyProfile, Database, Engagement, NewAlignConnection, NewEngagement, NewProject,
  NewTimeEntry, PersonProfile, Project, Tenant, TimeEntry, User,
} from '@illumera/db-schema'
import type { Kysely } from 'kysely'

let counter = 0
const next = () => ++counter

export async function createTenant(db: Kysely<Database>, overrides: Partial<Tenant> = {}): Promise<Tenant> {
  return db.insertInto('tenants')
    .values({ id: overrides.id ?? `tenant-${randomUUID()}`, name: overrides.name ?? `Tenant ${next()}` })
    .returningAll().executeTakeFirstOrThrow()
}

export async function createCompany(db: Kysely<Database>, tenantId: string, overrides: Partial<CompanyProfile> = {}): Promise<CompanyProfile> {
  return db.insertInto('company_profiles')
    .values({ id: overrides.id ?? `company-${randomUUID()}`, tenant_id: tenantId, name: overrides.name ?? `Company ${next()}` })
    .returningAll().executeTakeFirstOrThrow()
}

/** A tenant with one company: the usual starting point. */
export async function createTenantWithCompany(db: Kysely<Database>): Promise<{ tenant: Tenant; company: CompanyProfile }> {
  const tenant = await createTenant(db)
  const company = await createCompany(db, tenant.id)
  return { tenant, company }
}

/** A talent user with its person profile. */
export async function createTalent(
  db: Kysely<Database>,
  tenantId: string,
  overrides: { email?: string; name?: string; role?: User['role'] } = {},
): Promise<{ user: User; person: PersonProfile }> {
  const n = next()
  const user = await db.insertInto('users')
    .values({ tenant_id: tenantId, email: overrides.email ?? `talent${n}-${randomUUID().slice(0, 8)}@example.com`, name: overrides.name ?? `Talent ${n}`, role: overrides.role ?? 'talent' })
    .returningAll().executeTakeFirstOrThrow()
  const person = await db.insertInto('person_profiles')
    .values({ tenant_id: tenantId, user_id: user.id, title: 'Engineer' })
    .returningAll().executeTakeFirstOrThrow()
  return { user, person }
}

export async function createProject(
  db: Kysely<Database>,
  owner: { tenantId: string; companyId: string },
  overrides: Partial<NewProject> = {},
): Promise<Project> {
  return db.insertInto('projects')
    .values({ tenant_id: owner.tenantId, company_id: owner.companyId, name: `Project ${next()}`, description: null, ...overrides })
    .returningAll().executeTakeFirstOrThrow()
}

export async function createEngagement(
  db: Kysely<Database>,
  project: Project,
  personId: string,
  overrides: Partial<NewEngagement> = {},
): Promise<Engagement> {
  return db.insertInto('engagements')
    .values({ tenant_id: project.tenant_id, company_id: project.company_id, project_id: project.id, person_id: personId, hourly_rate_cents: 10_000, ...overrides })
    .returningAll().executeTakeFirstOrThrow()
}

export async function createTimeEntry(db: Kysely<Database>, engagement: Engagement, overrides: Partial<NewTimeEntry> = {}): Promise<TimeEntry> {
  return db.insertInto('time_entries')
    .values({
      tenant_id: engagement.tenant_id, company_id: engagement.company_id, project_id: engagement.project_id,
      engagement_id: engagement.id, person_id: engagement.person_id, work_date: '2026-11-02', minutes: 60, notes: null,
      ...overrides,
    })
    .returningAll().executeTakeFirstOrThrow()
}

/** An active connection row; the ciphertext fields are opaque here (services encrypt real ones). */
export async function createAlignConnection(
  db: Kysely<Database>,
  owner: { tenantId: string; companyId: string },
  overrides: Partial<NewAlignConnection> = {},
): Promise<AlignConnection> {
  return db.insertInto('align_connections')
    .values({
      tenant_id: owner.tenantId, company_id: owner.companyId, encrypted_api_key: 'not-a-real-ciphertext', key_last_four: 'abcd',
      align_org_id: `org-${randomUUID()}`, align_key_scope: 'organization', ...overrides,
    })
    .returningAll().executeTakeFirstOrThrow()
}
