import type { Database } from '@illumera/db-schema'
import type { Kysely } from 'kysely'

/**
 * The identity provider is the source of truth for tenants and companies: the first verified token that
 * names one creates its row (the id doubles as the name until someone renames it).
 */
export async function upsertTenantAndCompany(db: Kysely<Database>, tenantId: string, companyId: string): Promise<void> {
  await db.insertInto('tenants').values({ id: tenantId, name: tenantId }).onConflict((oc) => oc.column('id').doNothing()).execute()
  await db.insertInto('company_profiles')
    .values({ id: companyId, tenant_id: tenantId, name: companyId })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute()
}

/** The tenant a company id belongs to, or undefined when there is no such company. */
export async function findCompanyTenant(db: Kysely<Database>, companyId: string): Promise<string | undefined> {
  const row = await db.selectFrom('company_profiles').select('tenant_id').where('id', '=', companyId).executeTakeFirst()
  return row?.tenant_id
}
