// The only file that touches process: env, signals, exit code.
import { closeAlignPools } from '@illumera/align-gateway'
import { assertMigrated } from '@illumera/db-schema'
import { ConfigError, createGatewayFactory, createLogger, createMetricsRegistry, secretBoxFromEnv, waitForSignal } from '@illumera/service-kit'
import { buildApp } from './app.js'
import { loadConfig } from './config.js'
import { createSyncWorker } from './worker.js'
import { createWorkerDb } from './worker-db.js'

async function main() {
  const { config, secrets } = loadConfig(process.env)
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'sync-worker' })
  const db = createWorkerDb(config.DATABASE_URL, logger, { max: Math.min(50, config.SYNC_CONCURRENCY + 5) })
  let shuttingDown = false
  try {
    await assertMigrated(db)
    const metrics = createMetricsRegistry('sync-worker')
    const box = secretBoxFromEnv(secrets)
    const worker = createSyncWorker({
      db, logger, metrics, databaseUrl: config.DATABASE_URL,
      gatewayFor: createGatewayFactory({ box, baseUrl: config.ALIGN_BASE_URL, timeoutMs: config.ALIGN_CALL_TIMEOUT_MS }),
      options: {
        concurrency: config.SYNC_CONCURRENCY,
        perConnectionClaim: config.SYNC_PER_CONNECTION_CLAIM,
        pollIntervalMs: config.SYNC_POLL_INTERVAL_MS,
        leaseMs: config.SYNC_LEASE_MS,
        retryDelaysMs: config.SYNC_RETRY_DELAYS_MS,
        dependencyRecheckMs: config.SYNC_DEPENDENCY_RECHECK_MS,
        rateLimitPerMinute: config.ALIGN_RATE_LIMIT_PER_MINUTE,
        rateBurst: config.ALIGN_RATE_BURST,
        retentionMs: config.SYNC_RETENTION_MS,
        retentionIntervalMs: config.SYNC_RETENTION_INTERVAL_MS,
      },
    })
    const app = await buildApp({ db, logger, metrics, isShuttingDown: () => shuttingDown })
    await app.listen({ host: '0.0.0.0', port: config.PORT })
    worker.start()
    const signal = await waitForSignal('SIGTERM', 'SIGINT')
    logger.info({ signal }, 'shutting down: draining in-flight rows')
    shuttingDown = true
    await worker.stop()
    await app.close()
    await closeAlignPools()
  } finally {
    await db.destroy()
  }
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err)
  process.exitCode = 1
})
