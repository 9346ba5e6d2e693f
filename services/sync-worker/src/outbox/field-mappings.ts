// The connection's field mappings, as the handlers apply them when they build an Align call (rules in
// @illumera/db-schema connection-settings), plus the few Illumera fields a mapping needs that an outbox
// payload does not carry (a user's role for a membership; project and user names for a description template).
//
// Mappings are cached per connection and read again for any row created after they were read (so a resync
// enqueued after a settings change always gets the new mapping) and at most MAX_AGE_MS after (so rows already
// queued pick up a change within seconds). Read times come from PostgreSQL, the clock row timestamps use too.
import { type Database, effectiveFieldMappings, type FieldMappings, type IllumeraUserRole } from '@illumera/db-schema'
import type { Kysely } from 'kysely'

const MAX_AGE_MS = 5_000
const MAX_CACHED_CONNECTIONS = 10_000

export interface MappingSource {
  /** The mappings in force for a row of this connection created at `rowCreatedAt`. */
  fieldMappings(connectionId: string, rowCreatedAt: Date): Promise<FieldMappings>
  /** Stored mappings read elsewhere at `readAt` (the claim reads them with its rows): cached as if read here. */
  prime(connectionId: string, stored: unknown, readAt: Date): void
  projectName(tenantId: string, projectId: string): Promise<string | null>
  user(tenantId: string, userId: string): Promise<{ name: string; email: string; role: IllumeraUserRole } | null>
}

export function createMappingSource(db: Kysely<Database>): MappingSource {
  const cache = new Map<string, { mappings: FieldMappings; readAt: Date; fetchedAt: number }>()
  return {
    async fieldMappings(connectionId, rowCreatedAt) {
      const hit = cache.get(connectionId)
      if (hit && hit.readAt > rowCreatedAt && performance.now() - hit.fetchedAt < MAX_AGE_MS) return hit.mappings
      const row = await db.selectFrom('align_connections')
        .select(['field_mappings', (eb) => eb.fn<Date>('now').as('read_at')])
        .where('id', '=', connectionId)
        .executeTakeFirst()
      const mappings = effectiveFieldMappings(row?.field_mappings)
      if (cache.size >= MAX_CACHED_CONNECTIONS) cache.clear()
      cache.set(connectionId, { mappings, readAt: row?.read_at ?? rowCreatedAt, fetchedAt: performance.now() })
      return mappings
    },
    prime(connectionId, stored, readAt) {
      const hit = cache.get(connectionId)
      if (hit && hit.readAt >= readAt) return
      if (cache.size >= MAX_CACHED_CONNECTIONS) cache.clear()
      cache.set(connectionId, { mappings: effectiveFieldMappings(stored), readAt, fetchedAt: performance.now() })
    },
    async projectName(tenantId, projectId) {
      const row = await db.selectFrom('projects').select('name').where('id', '=', projectId).where('tenant_id', '=', tenantId).executeTakeFirst()
      return row?.name ?? null
    },
    async user(tenantId, userId) {
      const row = await db.selectFrom('users').select(['name', 'email', 'role']).where('id', '=', userId).where('tenant_id', '=', tenantId).executeTakeFirst()
      return row ?? null
    },
  }
}

/** What a handler sees: the source bound to its row's tenant, connection and creation time. */
export interface RowMapping {
  fieldMappings(): Promise<FieldMappings>
  projectName(projectId: string): Promise<string | null>
  user(userId: string): Promise<{ name: string; email: string; role: IllumeraUserRole } | null>
}

export function mappingForRow(source: MappingSource, row: { tenant_id: string; connection_id: string | null; created_at: Date }): RowMapping {
  return {
    fieldMappings: () => source.fieldMappings(row.connection_id ?? '', row.created_at),
    projectName: (projectId) => source.projectName(row.tenant_id, projectId),
    user: (userId) => source.user(row.tenant_id, userId),
  }
}
