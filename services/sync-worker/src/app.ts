// The worker's HTTP side: /healthz, /readyz (database answers, not shutting down) and /metrics.
import type { Database } from '@illumera/db-schema'
import { createServiceApp, databaseCheck } from '@illumera/service-kit'
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'

export interface AppDeps {
  db: Kysely<Database>
  logger: Logger
  metrics: Registry
  isShuttingDown: () => boolean
}

export async function buildApp(deps: AppDeps) {
  return createServiceApp({
    logger: deps.logger,
    metrics: deps.metrics,
    checks: { database: databaseCheck(deps.db) },
    isShuttingDown: deps.isShuttingDown,
  })
}
