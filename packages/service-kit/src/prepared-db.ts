// A service pool that keeps PostgreSQL's plan for the statements a service marks as hot. Kysely sends every
// query unnamed, so PostgreSQL parses and plans it on every call; for a large statement (a data-modifying
// CTE, say) planning can cost as much as running it. A query whose SQL starts with PREPARED_STATEMENT_MARKER
// is sent as a named prepared statement instead (name = hash of its text, prepared once per connection by pg).
// Only mark statements with a fixed text: every distinct text stays prepared for the connection's lifetime.
import { createHash } from 'node:crypto'
import type { Database } from '@illumera/db-schema'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { Logger } from 'pino'

/** Start a statement's SQL with this comment to have it prepared once per pooled connection. */
export const PREPARED_STATEMENT_MARKER = '/* prepared */'

export interface PreparingDbOptions {
  /** Pool size (default 10). */
  max?: number
  /** application_name in pg_stat_activity. */
  name: string
  /**
   * plan_cache_mode of the pool's sessions (default: PostgreSQL's, 'auto'). 'force_custom_plan' plans a marked
   * statement on every call with the statistics of the moment (it is still parsed only once): for statements
   * over a table that grows from empty, where a generic plan made while it was small keeps a sequential scan
   * until the next ANALYZE. Unmarked statements are planned on every call whatever the mode.
   */
  planCacheMode?: 'auto' | 'force_custom_plan' | 'force_generic_plan'
}

type QueryFn = (...args: unknown[]) => unknown

/** Names a marked query after its text; everything else passes through unchanged. */
export function preparingQuery(query: QueryFn): QueryFn {
  const names = new Map<string, string>()
  return (config: unknown, ...rest: unknown[]) => {
    if (typeof config !== 'string' || !config.startsWith(PREPARED_STATEMENT_MARKER)) return query(config, ...rest)
    let name = names.get(config)
    if (!name) {
      name = `ps_${createHash('sha256').update(config).digest('hex').slice(0, 24)}`
      names.set(config, name)
    }
    const [values, callback] = typeof rest[0] === 'function' ? [undefined, rest[0]] : rest
    return query({ name, text: config, values }, callback)
  }
}

/** Like createServiceDb, plus prepared statements for marked queries. */
export function createPreparingServiceDb(url: string, logger: Logger, options: PreparingDbOptions): Kysely<Database> {
  const log = logger.child({ component: 'db' })
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    application_name: options.name,
    ...(options.planCacheMode ? { options: `-c plan_cache_mode=${options.planCacheMode}` } : {}),
  })
  pool.on('error', (err) => log.warn({ err: { message: err.message } }, 'idle database connection failed'))
  pool.on('connect', (client) => {
    const patched = client as unknown as { query: QueryFn }
    patched.query = preparingQuery(client.query.bind(client) as QueryFn)
  })
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
}
