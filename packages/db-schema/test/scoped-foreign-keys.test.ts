import { randomBytes } from 'node:crypto'
import { type Kysely, Migrator, sql } from 'kysely'
import pg from 'pg'
import { describe, expect, inject, it } from 'vitest'
// db-schema cannot depend on the harness package (the harness depends on db-schema), so import it by path.
import {
  createAlignConnection, createEngagement, createProject, createTalent, createTenantWithCompany, createTimeEntry, databaseUrl, useTestDatabase,
} from '../../test-harness/src/index.js'
import { createDb, type Database, migrateToLatest, migrations, type NewAlignSyncOutboxRow } from '../src/index.js'

const OUTBOX_MIGRATION = '20261130T184230Z-scope-outbox-foreign-keys-and-indexes'
const TIME_ENTRY_MIGRATION = '20261130T184331Z-scope-time-entry-foreign-keys'

async function withEmptyDatabase(work: (db: Kysely<Database>) => Promise<void>): Promise<void> {
  const { adminUrl } = inject('testDatabaseServer')
  const name = `illumera_scope_${randomBytes(5).toString('hex')}`
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  await client.query(`create database ${name}`)
  const db = createDb(databaseUrl(adminUrl, name), { max: 1 })
  try {
    await work(db)
  } finally {
    await db.destroy()
    await client.query(`drop database if exists ${name} with (force)`)
    await client.end()
  }
}

/** The migration before `name`: the schema these migrations start from. */
function migrationBefore(name: string): string {
  const names = Object.keys(migrations)
  return names[names.indexOf(name) - 1]!
}

async function migrateTo(db: Kysely<Database>, name: string): Promise<void> {
  const { error } = await new Migrator({ db, provider: { getMigrations: async () => migrations } }).migrateTo(name)
  if (error) throw error
}

/** A company with an accepted engagement, an entry on it, and an active connection. */
async function seedCompany(db: Kysely<Database>) {
  const { tenant, company } = await createTenantWithCompany(db)
  const { person } = await createTalent(db, tenant.id)
  const project = await createProject(db, { tenantId: tenant.id, companyId: company.id })
  const engagement = await createEngagement(db, project, person.id, { status: 'accepted' })
  const entry = await createTimeEntry(db, engagement)
  const connection = await createAlignConnection(db, { tenantId: tenant.id, companyId: company.id })
  return { tenant, company, person, project, engagement, entry, connection }
}

function outboxRow(s: Awaited<ReturnType<typeof seedCompany>>, overrides: Partial<NewAlignSyncOutboxRow> = {}): NewAlignSyncOutboxRow {
  return { tenant_id: s.tenant.id, company_id: s.company.id, connection_id: s.connection.id, entity_type: 'time_entry', local_id: s.entry.id, operation: 'upsert', payload: null, ...overrides }
}

describe('outbox and time entry keys scoped to their connection and engagement', () => {
  const t = useTestDatabase()

  it("rejects an outbox row whose tenant or company is not its connection's", async () => {
    const a = await seedCompany(t.db)
    const b = await seedCompany(t.db)
    await t.db.insertInto('align_sync_outbox').values(outboxRow(a)).execute()
    // Another company's connection: each column exists on its own, together they do not agree.
    await expect(t.db.insertInto('align_sync_outbox').values(outboxRow(a, { connection_id: b.connection.id })).execute())
      .rejects.toThrow(/align_sync_outbox_connection_fkey/)
    await expect(t.db.insertInto('align_sync_outbox').values(outboxRow(a, { connection_id: 'no-such-connection' })).execute())
      .rejects.toThrow(/align_sync_outbox_connection_fkey/)
  })

  it('checks the company of an outbox row written without a connection', async () => {
    const a = await seedCompany(t.db)
    const b = await seedCompany(t.db)
    await t.db.insertInto('align_sync_outbox').values(outboxRow(a, { connection_id: null })).execute()
    await expect(t.db.insertInto('align_sync_outbox').values(outboxRow(a, { connection_id: null, company_id: b.company.id })).execute())
      .rejects.toThrow(/align_sync_outbox_company_fkey/)
    await expect(t.db.insertInto('align_sync_outbox').values(outboxRow(a, { connection_id: null, tenant_id: 'no-such-tenant' })).execute())
      .rejects.toThrow(/align_sync_outbox_company_fkey/)
    // Resolving its connection later is checked too.
    await expect(t.db.updateTable('align_sync_outbox').set({ connection_id: b.connection.id }).where('tenant_id', '=', a.tenant.id).execute())
      .rejects.toThrow(/align_sync_outbox_connection_fkey/)
  })

  it("rejects a time entry whose tenant, company, project or person is not its engagement's", async () => {
    const a = await seedCompany(t.db)
    const b = await seedCompany(t.db)
    const otherProject = await createProject(t.db, { tenantId: a.tenant.id, companyId: a.company.id })
    const { person: otherPerson } = await createTalent(t.db, a.tenant.id)
    for (const overrides of [
      { tenant_id: b.tenant.id }, { company_id: b.company.id }, { project_id: otherProject.id }, { person_id: otherPerson.id }, { engagement_id: 'no-such-engagement' },
    ]) {
      await expect(createTimeEntry(t.db, a.engagement, overrides), JSON.stringify(overrides)).rejects.toThrow(/time_entries_engagement_fkey/)
    }
    await expect(createTimeEntry(t.db, a.engagement, { adjusts_entry_id: 'no-such-entry' })).rejects.toThrow(/time_entries_adjusts_entry_id_fkey/)
    await createTimeEntry(t.db, a.engagement, { is_adjustment: true, adjusts_entry_id: a.entry.id })
  })

  it('keeps a referenced engagement, connection or company from being deleted', async () => {
    const a = await seedCompany(t.db)
    await t.db.insertInto('align_sync_outbox').values(outboxRow(a)).execute()
    await expect(t.db.deleteFrom('engagements').where('id', '=', a.engagement.id).execute()).rejects.toThrow(/time_entries_engagement_fkey/)
    await expect(t.db.deleteFrom('align_connections').where('id', '=', a.connection.id).execute()).rejects.toThrow(/align_sync_outbox_connection_fkey/)
  })

  it('the claim, counts and listings have the merged (connection_id, status, seq) index, and the old ones are gone', async () => {
    const { rows } = await sql<{ indexname: string; indexdef: string }>`
      select indexname, indexdef from pg_indexes where tablename = 'align_sync_outbox'`.execute(t.db)
    const names = rows.map((r) => r.indexname)
    expect(names).not.toContain('align_sync_outbox_connection_status_idx')
    expect(names).not.toContain('align_sync_outbox_connection_pending_idx')
    expect(names).not.toContain('align_sync_outbox_due_idx')
    expect(rows.find((r) => r.indexname === 'align_sync_outbox_connection_idx')?.indexdef).toMatch(/\(connection_id, status, seq\)$/)
  })
})

describe('the scoping migrations on a populated database', () => {
  it('keep every row, and the down migrations bring the old keys back', async () => {
    await withEmptyDatabase(async (db) => {
      await migrateTo(db, migrationBefore(OUTBOX_MIGRATION))
      const s = await seedCompany(db)
      await db.insertInto('align_sync_outbox').values([outboxRow(s), outboxRow(s, { connection_id: null })]).execute()
      await migrateToLatest(db)
      const counts = await sql<{ entries: number; outbox: number }>`
        select (select count(*)::int from time_entries) as entries, (select count(*)::int from align_sync_outbox) as outbox`.execute(db)
      expect(counts.rows[0]).toEqual({ entries: 1, outbox: 2 })
      const { rows: invalid } = await sql<{ conname: string }>`select conname from pg_constraint where not convalidated`.execute(db)
      expect(invalid).toEqual([])

      await migrations[TIME_ENTRY_MIGRATION]!.down!(db)
      await migrations[OUTBOX_MIGRATION]!.down!(db)
      const { rows: keys } = await sql<{ conname: string }>`
        select conname from pg_constraint where conrelid in ('align_sync_outbox'::regclass, 'time_entries'::regclass) and contype = 'f' order by conname`.execute(db)
      expect(keys.map((k) => k.conname)).toEqual([
        'align_sync_outbox_company_id_fkey', 'align_sync_outbox_connection_id_fkey', 'align_sync_outbox_tenant_id_fkey',
        'time_entries_adjusts_entry_id_fkey', 'time_entries_company_id_fkey', 'time_entries_engagement_id_fkey',
        'time_entries_person_id_fkey', 'time_entries_project_id_fkey', 'time_entries_tenant_id_fkey',
      ])
    })
  })

  it("fail, naming the row's keys, when an existing outbox row disagrees with its connection", async () => {
    await withEmptyDatabase(async (db) => {
      await migrateTo(db, migrationBefore(OUTBOX_MIGRATION))
      const a = await seedCompany(db)
      const b = await seedCompany(db)
      await db.insertInto('align_sync_outbox').values(outboxRow(a, { connection_id: b.connection.id })).execute()
      await expect(migrateToLatest(db)).rejects.toThrow(/align_sync_outbox_connection_fkey/)
      // Nothing of the failed run stayed.
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_constraint where conname = 'align_connections_scope_key'`.execute(db)
      expect(rows[0]!.n).toBe(0)
    })
  })

  it('fail when an existing time entry disagrees with its engagement', async () => {
    await withEmptyDatabase(async (db) => {
      await migrateTo(db, migrationBefore(OUTBOX_MIGRATION))
      const a = await seedCompany(db)
      const otherProject = await createProject(db, { tenantId: a.tenant.id, companyId: a.company.id })
      await createTimeEntry(db, a.engagement, { project_id: otherProject.id })
      await expect(migrateToLatest(db)).rejects.toThrow(/time_entries_engagement_fkey/)
    })
  })
})
