// The reconciliation's environment: exactly the variables it reads. Secrets come back apart from config,
// so config can be logged at start.
import { EnvVars, parseEnv } from '@illumera/service-kit'
import { Type } from '@sinclair/typebox'

export const ReconciliationEnv = Type.Object({
  DATABASE_URL: EnvVars.DATABASE_URL,
  ALIGN_ENCRYPTION_KEY: EnvVars.ALIGN_ENCRYPTION_KEY,
  ALIGN_ENCRYPTION_KEYS_PREVIOUS: Type.Optional(EnvVars.ALIGN_ENCRYPTION_KEYS_PREVIOUS),
  ALIGN_BASE_URL: EnvVars.ALIGN_BASE_URL,
  LOG_LEVEL: EnvVars.LOG_LEVEL,
  ALIGN_RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 0, default: 600, description: 'requests per minute per Align key (0 turns pacing off)' }),
  ALIGN_CALL_TIMEOUT_MS: Type.Integer({ minimum: 1, default: 30_000, description: 'a timeout in milliseconds (an integer ≥ 1)' }),
  RECONCILE_PROJECT_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 4, description: 'an integer from 1 to 64' }),
})

export function loadConfig(env: Record<string, string | undefined>) {
  const { ALIGN_ENCRYPTION_KEY, ALIGN_ENCRYPTION_KEYS_PREVIOUS, ...config } = parseEnv(ReconciliationEnv, env)
  return { config, secrets: { ALIGN_ENCRYPTION_KEY, ALIGN_ENCRYPTION_KEYS_PREVIOUS } }
}

export type ReconciliationConfig = ReturnType<typeof loadConfig>['config']
