import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import pg from 'pg'
import { describe, expect, inject, it } from 'vitest'
// db-schema cannot depend on the harness package (the harness depends on db-schema), so import it by path.
import { createAlignConnection, createTenantWithCompany, databaseUrl, useTestDatabase } from '../../test-harness/src/index.js'
import { assertMigrated, createDb, DatabaseNotMigratedError, migrateToLatest, migrations, pendingMigrations } from '../src/index.js'

async function withEmptyDatabase(work: (url: string) => Promise<void>): Promise<void> {
  const { adminUrl } = inject('testDatabaseServer')
  const name = `illumera_empty_${randomBytes(5).toString('hex')}`
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  await client.query(`create database ${name}`)
  try {
    await work(databaseUrl(adminUrl, name))
  } finally {
    await client.query(`drop database if exists ${name} with (force)`)
    await client.end()
  }
}

describe('migrations', () => {
  it('apply to an empty database, and assertMigrated rejects it before', async () => {
    await withEmptyDatabase(async (url) => {
      const db = createDb(url, { max: 1 })
      try {
        const error = await assertMigrated(db).catch((e: unknown) => e)
        expect(error).toBeInstanceOf(DatabaseNotMigratedError)
        const count = Object.keys(migrations).length
        expect((error as Error).message).toBe(
          `database is not migrated: ${count} pending, first ${Object.keys(migrations)[0]} — run pnpm db:migrate`,
        )
        const results = await migrateToLatest(db)
        expect(results.map((r) => r.status)).toEqual(Object.keys(migrations).map(() => 'Success'))
        await expect(assertMigrated(db)).resolves.toBeUndefined()
        expect(await pendingMigrations(db)).toEqual([])
        // A second run is a no-op.
        expect(await migrateToLatest(db)).toEqual([])
      } finally {
        await db.destroy()
      }
    })
  })

  it('every down migration reverts cleanly', async () => {
    await withEmptyDatabase(async (url) => {
      const db = createDb(url, { max: 1 })
      try {
        await migrateToLatest(db)
        for (const name of Object.keys(migrations).reverse()) await migrations[name]!.down!(db)
        const { rows } = await sql<{ n: number }>`select count(*)::int as n from information_schema.tables where table_schema = 'public' and table_name not like 'kysely_%'`.execute(db)
        expect(rows[0]!.n).toBe(0)
      } finally {
        await db.destroy()
      }
    })
  })

  it('the outbox is vacuumed and analyzed after 1 % of its rows change (a queue table), and the down migration resets that', async () => {
    await withEmptyDatabase(async (url) => {
      const db = createDb(url, { max: 1 })
      const options = async () => (await sql<{ reloptions: string[] | null }>`select reloptions from pg_class where oid = 'align_sync_outbox'::regclass`.execute(db)).rows[0]!.reloptions ?? []
      try {
        await migrateToLatest(db)
        expect((await options()).sort()).toEqual([
          'autovacuum_analyze_scale_factor=0.01', 'autovacuum_analyze_threshold=1000',
          'autovacuum_vacuum_insert_scale_factor=0.01', 'autovacuum_vacuum_insert_threshold=1000',
          'autovacuum_vacuum_scale_factor=0.01', 'autovacuum_vacuum_threshold=1000',
        ])
        await migrations['20261130T221811Z-tune-outbox-autovacuum']!.down!(db)
        expect(await options()).toEqual([])
      } finally {
        await db.destroy()
      }
    })
  })
})

describe('schema', () => {
  const t = useTestDatabase()

  it('has every column of the reference tables with its nullability', async () => {
    const { rows } = await sql<{ table_name: string; column_name: string; is_nullable: string; data_type: string }>`
      select table_name, column_name, is_nullable, data_type from information_schema.columns where table_schema = 'public'`.execute(t.db)
    const col = (table: string, column: string) => rows.find((r) => r.table_name === table && r.column_name === column)
    const expectColumns = (table: string, spec: Record<string, [nullable: boolean, type: string]>) => {
      for (const [column, [nullable, type]] of Object.entries(spec)) {
        const found = col(table, column)
        expect(found, `${table}.${column}`).toBeDefined()
        expect(found!.is_nullable === 'YES', `${table}.${column} nullable`).toBe(nullable)
        expect(found!.data_type, `${table}.${column} type`).toBe(type)
      }
    }
    const ts = 'timestamp with time zone'
    expectColumns('align_connections', {
      id: [false, 'text'], tenant_id: [false, 'text'], company_id: [false, 'text'], encrypted_api_key: [false, 'text'],
      key_last_four: [false, 'text'], align_org_id: [false, 'text'], align_key_scope: [false, 'text'],
      webhook_subscription_id: [true, 'text'], webhook_secret: [true, 'text'], webhook_url: [true, 'text'],
      status: [false, 'USER-DEFINED'], last_sync_at: [true, ts], last_error_at: [true, ts], last_error_message: [true, 'text'],
      created_at: [false, ts], updated_at: [false, ts],
    })
    expectColumns('align_entity_links', {
      id: [false, 'text'], tenant_id: [false, 'text'], company_id: [false, 'text'], provider: [false, 'text'],
      external_type: [false, 'text'], external_id: [false, 'text'], align_entity_type: [false, 'text'],
      align_entity_id: [false, 'text'], created_at: [false, ts], updated_at: [false, ts],
    })
    expectColumns('time_entries', {
      id: [false, 'text'], tenant_id: [false, 'text'], company_id: [false, 'text'], project_id: [false, 'text'],
      engagement_id: [false, 'text'], person_id: [false, 'text'], work_date: [false, 'text'], minutes: [false, 'integer'],
      notes: [true, 'text'], status: [false, 'USER-DEFINED'], rejection_reason: [true, 'text'], source: [false, 'USER-DEFINED'],
      sync_status: [false, 'USER-DEFINED'], sync_error: [true, 'text'], is_adjustment: [false, 'boolean'],
      adjusts_entry_id: [true, 'text'], deleted_at: [true, ts], created_at: [false, ts], updated_at: [false, ts],
    })
    expectColumns('align_webhook_deliveries', {
      id: [false, 'text'], delivery_id: [false, 'text'], event_name: [false, 'text'], tenant_id: [true, 'text'],
      company_id: [true, 'text'], payload: [true, 'jsonb'], status: [false, 'USER-DEFINED'], received_at: [false, ts],
      processed_at: [true, ts], error: [true, 'text'],
    })
    expectColumns('align_sync_outbox', {
      id: [false, 'text'], tenant_id: [false, 'text'], company_id: [false, 'text'], entity_type: [false, 'text'],
      local_id: [false, 'text'], operation: [false, 'USER-DEFINED'], payload: [true, 'jsonb'], status: [false, 'USER-DEFINED'],
      attempts: [false, 'integer'], last_attempt_at: [true, ts], next_retry_at: [false, ts], error: [true, 'text'], created_at: [false, ts],
    })
    expectColumns('align_reconciliation_log', {
      id: [false, 'text'], tenant_id: [false, 'text'], project_id: [true, 'text'], field: [false, 'text'],
      illumera_value: [true, 'text'], align_value: [true, 'text'], detected_at: [false, ts],
    })
  })

  it('enforces the two unique constraints of align_entity_links', async () => {
    const { tenant, company } = await createTenantWithCompany(t.db)
    const base = { tenant_id: tenant.id, company_id: company.id, provider: 'illumera', external_type: 'project' as const, align_entity_type: 'project' }
    await t.db.insertInto('align_entity_links').values({ ...base, external_id: 'p1', align_entity_id: 'a1' }).execute()
    await expect(t.db.insertInto('align_entity_links').values({ ...base, external_id: 'p1', align_entity_id: 'a2' }).execute())
      .rejects.toThrow(/align_entity_links_external_key/)
    await expect(t.db.insertInto('align_entity_links').values({ ...base, external_id: 'p2', align_entity_id: 'a1' }).execute())
      .rejects.toThrow(/align_entity_links_align_key/)
    // Another tenant may use the same ids.
    const other = await createTenantWithCompany(t.db)
    await t.db.insertInto('align_entity_links').values({ ...base, tenant_id: other.tenant.id, company_id: other.company.id, external_id: 'p1', align_entity_id: 'a1' }).execute()
  })

  it('allows at most one active connection per company, any number of disconnected ones', async () => {
    const { tenant, company } = await createTenantWithCompany(t.db)
    const owner = { tenantId: tenant.id, companyId: company.id }
    const first = await createAlignConnection(t.db, owner)
    await expect(createAlignConnection(t.db, owner)).rejects.toThrow(/align_connections_one_active_idx/)
    await createAlignConnection(t.db, owner, { status: 'disconnected' })
    await createAlignConnection(t.db, owner, { status: 'disconnected' })
    await t.db.updateTable('align_connections').set({ status: 'disconnected' }).where('id', '=', first.id).execute()
    await createAlignConnection(t.db, owner)
  })

  it('keeps updated_at current on every write', async () => {
    const { tenant, company } = await createTenantWithCompany(t.db)
    const connection = await createAlignConnection(t.db, { tenantId: tenant.id, companyId: company.id })
    await sql`select pg_sleep(0.01)`.execute(t.db)
    const updated = await t.db.updateTable('align_connections').set({ last_error_message: 'x' }).where('id', '=', connection.id).returningAll().executeTakeFirstOrThrow()
    expect(updated.updated_at.getTime()).toBeGreaterThan(connection.updated_at.getTime())
  })

  it('rejects rows that break the domain rules', async () => {
    const { tenant } = await createTenantWithCompany(t.db)
    await expect(t.db.insertInto('company_profiles').values({ id: 'c-x', tenant_id: 'no-such-tenant', name: 'x' }).execute()).rejects.toThrow(/foreign key/)
    await expect(t.db.insertInto('users').values({ tenant_id: tenant.id, email: 'a@x.com', name: 'A', role: 'wizard' as never }).execute()).rejects.toThrow(/invalid input value for enum/)
  })
})
