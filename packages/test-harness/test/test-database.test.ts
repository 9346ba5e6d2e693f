import { sql } from 'kysely'
import pg from 'pg'
import { describe, expect, inject, it } from 'vitest'
import { createTalent, createTenantWithCompany, createTestDatabase, useTestDatabase } from '../src/index.js'

async function databaseExists(name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: inject('testDatabaseServer').adminUrl })
  await client.connect()
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name])
    return rowCount === 1
  } finally {
    await client.end()
  }
}

describe('test databases', () => {
  const t = useTestDatabase()

  it('gives this file a migrated database of its own', async () => {
    const { rows } = await sql<{ db: string }>`select current_database() as db`.execute(t.db)
    expect(rows[0]!.db).toBe(t.name)
    expect(t.name).toMatch(/^illumera_t_[0-9a-f]{12}$/)
    const { tenant } = await createTenantWithCompany(t.db)
    const { user, person } = await createTalent(t.db, tenant.id)
    expect(person.user_id).toBe(user.id)
  })

  it('clones are independent and dropped afterwards', async () => {
    const other = await createTestDatabase()
    expect(other.name).not.toBe(t.name)
    await createTenantWithCompany(other.db)
    const mine = await t.db.selectFrom('tenants').select('id').execute()
    const theirs = await other.db.selectFrom('tenants').select('id').execute()
    expect(theirs).toHaveLength(1)
    expect(mine.map((r) => r.id)).not.toContain(theirs[0]!.id)
    await other.drop()
    expect(await databaseExists(other.name)).toBe(false)
    expect(await databaseExists(t.name)).toBe(true)
  })
})
