#!/usr/bin/env node
// `pnpm db:migrate`: applies pending migrations to DATABASE_URL (the root script provides the local
// embedded Postgres when DATABASE_URL is unset).
import { createDb } from '../create-db.js'
import { migrateToLatest, pendingMigrations } from '../migrator.js'

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL
  if (!url) throw new Error('DATABASE_URL: required (postgres://…)')
  const db = createDb(url, { max: 1, applicationName: 'illumera-migrate' })
  try {
    const before = await pendingMigrations(db)
    await migrateToLatest(db, (line) => console.log(line))
    console.log(before.length ? `applied ${before.length} migration(s)` : 'database is up to date')
  } finally {
    await db.destroy()
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err)
  process.exitCode = 1
})
