import { type Kysely, type MigrationResult, Migrator } from 'kysely'
import { migrations } from './migrations/index.js'

function createMigrator(db: Kysely<any>): Migrator {
  return new Migrator({ db, provider: { getMigrations: async () => migrations } })
}

/** Thrown by assertMigrated: the message says how many migrations are pending and what to run. */
export class DatabaseNotMigratedError extends Error {
  override name = 'DatabaseNotMigratedError'
  constructor(readonly pending: string[]) {
    super(`database is not migrated: ${pending.length} pending, first ${pending[0]} — run pnpm db:migrate`)
  }
}

/** Applies every pending migration; throws the first failure (after logging each result). */
export async function migrateToLatest(db: Kysely<any>, log: (line: string) => void = () => {}): Promise<MigrationResult[]> {
  const { error, results = [] } = await createMigrator(db).migrateToLatest()
  for (const result of results) log(`migration ${result.migrationName}: ${result.status}`)
  if (error) throw error instanceof Error ? error : new Error(String(error))
  return results
}

/** Names of migrations not yet applied to this database. */
export async function pendingMigrations(db: Kysely<any>): Promise<string[]> {
  const all = await createMigrator(db).getMigrations()
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name)
}

/** Services call this at start: refuse to run against an unmigrated database. */
export async function assertMigrated(db: Kysely<any>): Promise<void> {
  const pending = await pendingMigrations(db)
  if (pending.length > 0) throw new DatabaseNotMigratedError(pending)
}
