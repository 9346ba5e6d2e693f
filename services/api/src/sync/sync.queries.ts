import type { AlignConnection, Database } from '@illumera/db-schema'
import type { Kysely } from 'kysely'

/**
 * The company's active connection, read inside the caller's transaction. No cache: a connection made a
 * moment ago must not drop a change (DESIGN: the reference's 60 s negative cache lost those).
 */
export function findActiveConnection(trx: Kysely<Database>, tenantId: string, companyId: string): Promise<Pick<AlignConnection, 'id'> | undefined> {
  return trx.selectFrom('align_connections')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('company_id', '=', companyId)
    .where('status', '=', 'active')
    .executeTakeFirst()
}

export async function markTimeEntrySyncPending(trx: Kysely<Database>, entryId: string): Promise<void> {
  await trx.updateTable('time_entries').set({ sync_status: 'pending', sync_error: null }).where('id', '=', entryId).execute()
}
