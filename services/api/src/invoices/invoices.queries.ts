import type { Database, Invoice, NewInvoice } from '@illumera/db-schema'
import type { Kysely } from 'kysely'
import type { CompanyScope } from '../projects/projects.queries.js'

export function findEngagementInCompany(db: Kysely<Database>, scope: CompanyScope, id: string): Promise<{ id: string; project_id: string } | undefined> {
  return db.selectFrom('engagements').select(['id', 'project_id'])
    .where('id', '=', id).where('tenant_id', '=', scope.tenantId).where('company_id', '=', scope.companyId)
    .executeTakeFirst()
}

export function insertInvoice(db: Kysely<Database>, values: NewInvoice): Promise<Invoice> {
  return db.insertInto('invoices').values(values).returningAll().executeTakeFirstOrThrow()
}
