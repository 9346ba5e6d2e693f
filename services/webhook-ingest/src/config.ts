// The variables webhook-ingest reads. Secrets come back apart from config, so config can be logged.
import { EnvVars, parseEnv } from '@illumera/service-kit'
import { type Static, Type } from '@sinclair/typebox'

export const IngestEnv = Type.Object({
  DATABASE_URL: EnvVars.DATABASE_URL,
  PORT: EnvVars.PORT(3001),
  LOG_LEVEL: EnvVars.LOG_LEVEL,
  ALIGN_ENCRYPTION_KEY: EnvVars.ALIGN_ENCRYPTION_KEY,
  ALIGN_ENCRYPTION_KEYS_PREVIOUS: Type.Optional(EnvVars.ALIGN_ENCRYPTION_KEYS_PREVIOUS),
  DELIVERY_RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 30, description: 'whole days (1–3650)' }),
  REPLAY_WINDOW_HOURS: Type.Integer({ minimum: 1, maximum: 720, default: 24, description: 'whole hours (1–720)' }),
  DB_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 200, default: 20, description: 'database connections of the pool (1–200)' }),
})

export interface IngestConfig {
  DATABASE_URL: string
  PORT: number
  LOG_LEVEL: string
  DELIVERY_RETENTION_DAYS: number
  REPLAY_WINDOW_HOURS: number
  DB_POOL_SIZE: number
}

export interface IngestSecrets {
  ALIGN_ENCRYPTION_KEY: string
  ALIGN_ENCRYPTION_KEYS_PREVIOUS?: string | undefined
}

/** Throws ConfigError naming the first bad variable (never its value). */
export function loadConfig(env: Record<string, string | undefined>): { config: IngestConfig; secrets: IngestSecrets } {
  const parsed: Static<typeof IngestEnv> = parseEnv(IngestEnv, env)
  const { ALIGN_ENCRYPTION_KEY, ALIGN_ENCRYPTION_KEYS_PREVIOUS, ...config } = parsed
  return { config, secrets: { ALIGN_ENCRYPTION_KEY, ALIGN_ENCRYPTION_KEYS_PREVIOUS } }
}
