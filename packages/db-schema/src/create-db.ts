import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { Database } from './database.js'

export interface CreateDbOptions {
  /** Pool size (default 10). */
  max?: number
  /** Called when an idle pooled client errors (a dropped connection); without it pg would crash the process. */
  onPoolError?: (err: Error) => void
  applicationName?: string
}

/** A Kysely instance over a pg Pool. The caller owns it and calls `db.destroy()`. */
export function createDb(connectionString: string, options: CreateDbOptions = {}): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName,
  })
  pool.on('error', options.onPoolError ?? (() => {}))
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
}
