// The sync worker's environment: exactly the variables it reads. Secrets come back apart from config,
// so config can be logged at start.
import { effectiveLimit } from '@illumera/align-rate-budget'
import { ConfigError, EnvVars, parseEnv } from '@illumera/service-kit'
import { Type } from '@sinclair/typebox'

const Ms = (fallback: number, what: string) => Type.Integer({ minimum: 0, default: fallback, description: `${what} in milliseconds (an integer ≥ 0)` })

export const SyncWorkerEnv = Type.Object({
  DATABASE_URL: EnvVars.DATABASE_URL,
  ALIGN_ENCRYPTION_KEY: EnvVars.ALIGN_ENCRYPTION_KEY,
  ALIGN_ENCRYPTION_KEYS_PREVIOUS: Type.Optional(EnvVars.ALIGN_ENCRYPTION_KEYS_PREVIOUS),
  ALIGN_BASE_URL: EnvVars.ALIGN_BASE_URL,
  PORT: EnvVars.PORT(3002),
  LOG_LEVEL: EnvVars.LOG_LEVEL,
  ALIGN_RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 0, default: 600, description: 'requests per minute per Align key (0 turns pacing off)' }),
  ALIGN_RATE_BURST: Type.Optional(Type.Integer({ minimum: 1, description: 'an integer ≥ 1: requests of one key that may go out at once before pacing spaces them' })),
  ALIGN_CALL_TIMEOUT_MS: Ms(30_000, 'a timeout'),
  SYNC_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 500, default: 20, description: 'an integer from 1 to 500' }),
  SYNC_PER_CONNECTION_CLAIM: Type.Integer({ minimum: 1, maximum: 1000, default: 10, description: 'an integer from 1 to 1000' }),
  SYNC_POLL_INTERVAL_MS: Ms(2000, 'an interval'),
  SYNC_LEASE_MS: Type.Integer({ minimum: 100, default: 600_000, description: 'a lease in milliseconds (≥ 100)' }),
  SYNC_RETRY_DELAYS_MS: Type.String({ pattern: '^\\d+(,\\d+)*$', default: '60000,300000,1800000,7200000,28800000', description: 'comma-separated delays in milliseconds' }),
  SYNC_DEPENDENCY_RECHECK_MS: Ms(60_000, 'an interval'),
  SYNC_RETENTION_MS: Ms(7 * 24 * 60 * 60_000, 'an age'),
  SYNC_RETENTION_INTERVAL_MS: Type.Integer({ minimum: 1000, default: 600_000, description: 'an interval in milliseconds (≥ 1000)' }),
})

export function loadConfig(env: Record<string, string | undefined>) {
  const { ALIGN_ENCRYPTION_KEY, ALIGN_ENCRYPTION_KEYS_PREVIOUS, ...config } = parseEnv(SyncWorkerEnv, env)
  const limit = effectiveLimit(config.ALIGN_RATE_LIMIT_PER_MINUTE)
  if (config.ALIGN_RATE_BURST !== undefined && config.ALIGN_RATE_LIMIT_PER_MINUTE > 0 && config.ALIGN_RATE_BURST > limit) {
    throw new ConfigError(`ALIGN_RATE_BURST must be at most ${limit} (the paced limit for ALIGN_RATE_LIMIT_PER_MINUTE=${config.ALIGN_RATE_LIMIT_PER_MINUTE}), got ${config.ALIGN_RATE_BURST}`)
  }
  return {
    config: { ...config, SYNC_RETRY_DELAYS_MS: config.SYNC_RETRY_DELAYS_MS.split(',').map(Number) },
    secrets: { ALIGN_ENCRYPTION_KEY, ALIGN_ENCRYPTION_KEYS_PREVIOUS },
  }
}

export type SyncWorkerConfig = ReturnType<typeof loadConfig>['config']
