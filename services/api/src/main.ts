// The api process: the only file that reads the environment or handles signals.
import { assertMigrated } from '@illumera/db-schema'
import { ConfigError, createLogger, createPreparingServiceDb, secretBoxFromEnv, waitForSignal } from '@illumera/service-kit'
import { buildApp } from './app.js'
import { createTokenVerifier } from './auth/verify-token.js'
import { loadConfig } from './config.js'
import { DEV_KEY_ALGORITHM, ensureDevKeyPair } from './dev-keys.js'

async function main(): Promise<void> {
  const { config, secrets } = loadConfig(process.env)
  const logger = createLogger({ level: config.logLevel, name: 'api' })
  const secretBox = secretBoxFromEnv({ ALIGN_ENCRYPTION_KEY: secrets.encryptionKey, ALIGN_ENCRYPTION_KEYS_PREVIOUS: secrets.previousEncryptionKeys })

  let publicKey = config.auth.publicKeyPem
  let algorithms = config.auth.algorithms
  if (!publicKey && !config.auth.jwksUrl && config.auth.devKeys) {
    // loadConfig allows this only outside production.
    publicKey = (await ensureDevKeyPair(config.auth.devKeyDir)).publicKeyPem
    algorithms = [DEV_KEY_ALGORITHM]
    logger.warn('accepting development tokens (AUTH_DEV_KEYS=1); never in production')
  }
  const verifyToken = createTokenVerifier({
    publicKey, jwksUrl: config.auth.jwksUrl, algorithms, issuer: config.auth.issuer, audience: config.auth.audience,
  })

  const db = createPreparingServiceDb(config.databaseUrl, logger, { name: 'api', max: config.dbPoolSize })
  // The sync worker's wake-ups: one connection, so they never wait behind the requests' queries (its statement prepared once).
  const notifyDb = createPreparingServiceDb(config.databaseUrl, logger, { name: 'api-notify', max: 1 })
  let shuttingDown = false
  try {
    await assertMigrated(db)
    const app = await buildApp({
      db, notifyDb, dbPoolSize: config.dbPoolSize, logger, verifyToken, secretBox, isShuttingDown: () => shuttingDown,
      align: {
        baseUrl: config.alignBaseUrl, webhookBaseUrl: config.alignWebhookBaseUrl, webhookSecretGraceSeconds: config.webhookSecretGraceSeconds,
        keyMaxAgeDays: config.alignKeyMaxAgeDays,
      },
    })
    await app.listen({ host: '0.0.0.0', port: config.port })
    logger.info({ port: config.port, alignBaseUrl: config.alignBaseUrl }, 'api listening')
    await waitForSignal('SIGTERM', 'SIGINT')
    shuttingDown = true
    await app.close()
  } finally {
    await db.destroy()
    await notifyDb.destroy()
  }
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err)
  process.exitCode = 1
})
