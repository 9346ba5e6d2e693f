// The only file that touches process: env, signals, exit code.
import { assertMigrated } from '@illumera/db-schema'
import { ConfigError, createLogger, createMetricsRegistry, secretBoxFromEnv, waitForSignal } from '@illumera/service-kit'
import { buildApp } from './app.js'
import { loadConfig } from './config.js'
import { startDeliveryPruning } from './deliveries/prune-schedule.js'
import { createIngestDb } from './ingest-db.js'

async function main(): Promise<void> {
  const { config, secrets } = loadConfig(process.env)
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'webhook-ingest' })
  const secretBox = secretBoxFromEnv(secrets)
  const db = createIngestDb(config.DATABASE_URL, logger, { max: config.DB_POOL_SIZE })
  let shuttingDown = false
  try {
    await assertMigrated(db)
    const app = await buildApp({
      db,
      logger,
      secretBox,
      metrics: createMetricsRegistry('webhook-ingest'),
      replayWindowMs: config.REPLAY_WINDOW_HOURS * 60 * 60 * 1000,
      isShuttingDown: () => shuttingDown,
    })
    const stopPruning = startDeliveryPruning(db, logger, { retentionDays: config.DELIVERY_RETENTION_DAYS, intervalMs: 60 * 60 * 1000, batchSize: 1000 })
    await app.listen({ host: '0.0.0.0', port: config.PORT })
    logger.info({ port: config.PORT, retentionDays: config.DELIVERY_RETENTION_DAYS, replayWindowHours: config.REPLAY_WINDOW_HOURS, dbPoolSize: config.DB_POOL_SIZE }, 'webhook-ingest listening')
    const signal = await waitForSignal('SIGTERM', 'SIGINT')
    logger.info({ signal }, 'shutting down')
    shuttingDown = true
    await stopPruning()
    await app.close()
  } finally {
    await db.destroy()
  }
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err)
  process.exitCode = 1
})
