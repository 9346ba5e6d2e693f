// A private database per test file, cloned from the migrated template that global-setup.ts made.
import { randomBytes } from 'node:crypto'
import { type Database, createDb } from '@illumera/db-schema'
import type { Kysely } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, inject } from 'vitest'
import { databaseUrl } from './database-url.js'
import './provided-context.js'

export interface TestDatabase {
  db: Kysely<Database>
  /** postgres:// URL of this database, for code under test that opens its own pool or LISTENs. */
  url: string
  name: string
  drop(): Promise<void>
}

async function admin<T>(adminUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}

/** Creates a fresh migrated database. Prefer useTestDatabase() in test files. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const { adminUrl, template } = inject('testDatabaseServer')
  const name = `illumera_t_${randomBytes(6).toString('hex')}`
  await admin(adminUrl, async (client) => {
    // Concurrent clones of one template can briefly collide; retry a few times.
    for (let attempt = 1; ; attempt++) {
      try {
        await client.query(`create database ${name} template ${template}`)
        return
      } catch (err) {
        if (attempt >= 5 || !String((err as Error).message).includes('being accessed by other users')) throw err
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt))
      }
    }
  })
  const url = databaseUrl(adminUrl, name)
  const db = createDb(url, { max: 10 })
  let dropped = false
  return {
    db,
    url,
    name,
    async drop() {
      if (dropped) return
      dropped = true
      await db.destroy()
      await admin(adminUrl, (client) => client.query(`drop database if exists ${name} with (force)`))
    },
  }
}

/**
 * Registers beforeAll/afterAll that create this file's database and drop it afterwards.
 * The returned object's fields are usable inside tests (after beforeAll ran).
 */
export function useTestDatabase(): TestDatabase {
  let current: TestDatabase | undefined
  const get = (): TestDatabase => {
    if (!current) throw new Error('useTestDatabase(): the database exists only inside tests and hooks')
    return current
  }
  beforeAll(async () => {
    current = await createTestDatabase()
  })
  afterAll(async () => {
    await current?.drop()
  })
  return {
    get db() { return get().db },
    get url() { return get().url },
    get name() { return get().name },
    drop: () => get().drop(),
  }
}
