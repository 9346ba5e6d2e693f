// vitest globalSetup: one PostgreSQL per test run (embedded, unless DATABASE_URL names one) and one
// migrated template database; each test file then clones its own database from the template
// (test-database.ts), so parallel files never share rows. Everything it made is removed at the end,
// even when tests fail.
import { randomBytes } from 'node:crypto'
import { createDb, migrateToLatest } from '@illumera/db-schema'
import { type LocalPostgres, startLocalPostgres } from '@illumera/local-postgres'
import pg from 'pg'
import type { TestProject } from 'vitest/node'
import { databaseUrl } from './database-url.js'
import './provided-context.js'


async function adminQuery(adminUrl: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    await client.query(text)
  } finally {
    await client.end()
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let local: LocalPostgres | undefined
  let adminUrl = process.env.DATABASE_URL
  if (!adminUrl) {
    local = await startLocalPostgres()
    adminUrl = local.url
  }
  const template = `illumera_tpl_${randomBytes(6).toString('hex')}`
  try {
    await adminQuery(adminUrl, `create database ${template}`)
    const db = createDb(databaseUrl(adminUrl, template), { max: 1 })
    try {
      await migrateToLatest(db)
    } finally {
      await db.destroy()
    }
  } catch (err) {
    await local?.stop()
    throw err
  }
  project.provide('testDatabaseServer', { adminUrl, template })

  return async () => {
    try {
      await adminQuery(adminUrl, `drop database if exists ${template} with (force)`)
    } finally {
      await local?.stop()
    }
  }
}
