import type { AlignConnection, Database } from '@illumera/db-schema'
import type { Kysely } from 'kysely'

/**
 * The company's active connection that pushes to Align (its sync direction is not align_to_illumera), read
 * inside the caller's transaction. No cache: a connection made (or a direction changed) a moment ago must not
 * drop a change (DESIGN: the reference's 60 s negative cache lost those).
 */
export function findOutboundConnection(trx: Kysely<Database>, tenantId: string, companyId: string): Promise<Pick<AlignConnection, 'id'> | undefined> {
  return trx.selectFrom('align_connections')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('company_id', '=', companyId)
    .where('status', '=', 'active')
    // The same rule as pushesToAlign() in @illumera/db-schema connection-settings.
    .where('sync_direction', '!=', 'align_to_illumera')
    .executeTakeFirst()
}

export async function markTimeEntrySyncPending(trx: Kysely<Database>, entryId: string): Promise<void> {
  await trx.updateTable('time_entries').set({ sync_status: 'pending', sync_error: null }).where('id', '=', entryId).execute()
}
