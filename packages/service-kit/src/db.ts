import { createDb, type Database } from '@illumera/db-schema'
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'

export interface ServiceDbOptions {
  /** Pool size (default 10). */
  max?: number
  /** application_name in pg_stat_activity. */
  name: string
}

/** The service's pool: a dropped idle connection is logged instead of crashing the process. */
export function createServiceDb(url: string, logger: Logger, options: ServiceDbOptions): Kysely<Database> {
  const log = logger.child({ component: 'db' })
  return createDb(url, {
    max: options.max ?? 10,
    applicationName: options.name,
    onPoolError: (err) => log.warn({ err: { message: err.message } }, 'idle database connection failed'),
  })
}
