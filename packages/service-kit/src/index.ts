export { ConfigError, EnvVars, parseEnv } from './config.js'
export { createLogger, type CreateLoggerOptions, type Logger, REDACT_PATHS } from './logger.js'
export { createServiceDb, type ServiceDbOptions } from './db.js'
export { waitForSignal } from './shutdown.js'
export { badRequest, conflict, type ErrorBody, errorHandler, forbidden, HttpError, notFound, unauthorized } from './http-errors.js'
export { databaseCheck, type HealthOptions, healthRoutes, type ReadinessCheck } from './health.js'
export { createMetricsRegistry, metricsRoutes } from './metrics.js'
export { SecretBox, type SecretBinding, SecretDecryptError, secretBoxFromEnv } from './secrets.js'
export {
  connectionBinding, decryptConnectionSecret, ENCRYPTED_CONNECTION_COLUMNS, type EncryptedConnectionColumn, encryptConnectionSecret,
} from './align-connection-secrets.js'
export { rotateConnectionSecrets, type RotateOptions, type RotationReport } from './rotate-secrets.js'
export { createServiceApp, type ServiceAppOptions } from './service-app.js'
export { createPreparingServiceDb, PREPARED_STATEMENT_MARKER, type PreparingDbOptions } from './prepared-db.js'
