// buildApp: the ingest's Fastify app (health, metrics, the webhook routes). Never reads env, never listens.
import type { Database } from '@illumera/db-schema'
import { createServiceApp, databaseCheck, type SecretBox } from '@illumera/service-kit'
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { ConnectionCache } from './deliveries/connection-cache.js'
import { StatusEventBatcher, type StatusEventBatcherOptions } from './deliveries/status-event-batcher.js'
import { createIngestMetrics } from './metrics.js'
import { alignWebhookRoutes } from './routes/align-webhooks.js'

export interface AppDeps {
  db: Kysely<Database>
  logger: Logger
  secretBox: SecretBox
  metrics: Registry
  /** Replay window for identical bodies under new delivery ids (default 24 h). */
  replayWindowMs?: number
  /** Default 300 s. */
  timestampToleranceSeconds?: number
  /** Default 1 MiB. */
  bodyLimit?: number
  isShuttingDown?: () => boolean
  /** The clock (tests pass a fixed one). */
  now?: () => Date
  /** How long connection look-ups and decrypted secrets are reused (default 5000 ms; 0 disables). */
  connectionCacheTtlMs?: number
  /** Time status events written together under load (see status-event-batcher.ts). */
  statusEventBatch?: Omit<StatusEventBatcherOptions, 'onStatement'>
}

export const DEFAULT_REPLAY_WINDOW_MS = 24 * 60 * 60 * 1000

export async function buildApp(deps: AppDeps) {
  const bodyLimit = deps.bodyLimit ?? 1024 * 1024
  const app = await createServiceApp({
    logger: deps.logger,
    metrics: deps.metrics,
    bodyLimit,
    checks: { database: databaseCheck(deps.db) },
    ...(deps.isShuttingDown ? { isShuttingDown: deps.isShuttingDown } : {}),
  })
  const metrics = createIngestMetrics(deps.metrics)
  await app.register(alignWebhookRoutes, {
    prefix: '/api/webhooks/align',
    bodyLimit,
    deps: {
      db: deps.db,
      secretBox: deps.secretBox,
      metrics,
      logger: deps.logger.child({ component: 'align-webhooks' }),
      replayWindowMs: deps.replayWindowMs ?? DEFAULT_REPLAY_WINDOW_MS,
      timestampToleranceSeconds: deps.timestampToleranceSeconds ?? 300,
      now: deps.now ?? (() => new Date()),
      connectionCache: new ConnectionCache({ ttlMs: deps.connectionCacheTtlMs ?? 5_000 }),
      statusEvents: new StatusEventBatcher(deps.db, { ...deps.statusEventBatch, onStatement: (n) => metrics.statusStatementSize.observe(n) }),
    },
  })
  return app
}
