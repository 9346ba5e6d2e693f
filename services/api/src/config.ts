// The api's environment: exactly the variables it reads. Secrets (the encryption keys) come back apart
// from config, so config can be logged at start.
import { Type } from '@sinclair/typebox'
import { ConfigError, EnvVars, parseEnv } from '@illumera/service-kit'

export const ApiEnv = Type.Object({
  DATABASE_URL: EnvVars.DATABASE_URL,
  PORT: EnvVars.PORT(3000),
  DB_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 200, default: 10, description: 'an integer pool size (1–200)' }),
  LOG_LEVEL: EnvVars.LOG_LEVEL,
  NODE_ENV: Type.Optional(Type.String()),
  ALIGN_ENCRYPTION_KEY: EnvVars.ALIGN_ENCRYPTION_KEY,
  ALIGN_ENCRYPTION_KEYS_PREVIOUS: Type.Optional(EnvVars.ALIGN_ENCRYPTION_KEYS_PREVIOUS),
  ALIGN_BASE_URL: EnvVars.ALIGN_BASE_URL,
  ALIGN_WEBHOOK_BASE_URL: EnvVars.ALIGN_WEBHOOK_BASE_URL,
  WEBHOOK_SECRET_GRACE_SECONDS: Type.Integer({ minimum: 0, maximum: 86_400, default: 600, description: 'an integer number of seconds (0–86400)' }),
  ALIGN_KEY_MAX_AGE_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 80, description: 'an integer number of days (1–3650)' }),
  AUTH_JWKS_URL: Type.Optional(Type.String({ pattern: '^https?://', description: 'an http(s):// URL' })),
  AUTH_PUBLIC_KEY: Type.Optional(Type.String({ pattern: '-----BEGIN PUBLIC KEY-----', description: 'a PEM (SPKI) public key' })),
  AUTH_ALGORITHMS: Type.String({
    pattern: '^(RS256|ES256)(,(RS256|ES256))*$',
    default: 'ES256,RS256',
    description: 'comma-separated list of RS256, ES256',
  }),
  AUTH_ISSUER: Type.Optional(Type.String({ minLength: 1 })),
  AUTH_AUDIENCE: Type.Optional(Type.String({ minLength: 1 })),
  AUTH_DEV_KEYS: Type.Optional(Type.Union([Type.Literal('0'), Type.Literal('1')], { description: '0 or 1' })),
  AUTH_DEV_KEY_DIR: Type.Optional(Type.String({ minLength: 1 })),
})

export interface ApiConfig {
  databaseUrl: string
  port: number
  /** DB_POOL_SIZE: PostgreSQL connections in the pool. */
  dbPoolSize: number
  logLevel: string
  production: boolean
  alignBaseUrl: string
  alignWebhookBaseUrl: string
  webhookSecretGraceSeconds: number
  /** ALIGN_KEY_MAX_AGE_DAYS: an Align key older than this needs rotation (such keys commonly expire at 90 days). */
  alignKeyMaxAgeDays: number
  auth: {
    jwksUrl: string | undefined
    publicKeyPem: string | undefined
    algorithms: string[]
    issuer: string | undefined
    audience: string | undefined
    /** Accept the development key pair (never in production). */
    devKeys: boolean
    devKeyDir: string | undefined
  }
}

export interface ApiSecrets {
  encryptionKey: string
  previousEncryptionKeys: string | undefined
}

export function loadConfig(env: Record<string, string | undefined>): { config: ApiConfig; secrets: ApiSecrets } {
  const parsed = parseEnv(ApiEnv, env)
  const production = parsed.NODE_ENV === 'production'
  const devKeys = !production && parsed.AUTH_DEV_KEYS === '1'
  if (!parsed.AUTH_JWKS_URL && !parsed.AUTH_PUBLIC_KEY && !devKeys) {
    throw new ConfigError(
      production
        ? 'AUTH_PUBLIC_KEY: required (or AUTH_JWKS_URL) in production'
        : 'AUTH_PUBLIC_KEY: required (or AUTH_JWKS_URL, or AUTH_DEV_KEYS=1 outside production)',
    )
  }
  return {
    config: {
      databaseUrl: parsed.DATABASE_URL,
      port: parsed.PORT,
      dbPoolSize: parsed.DB_POOL_SIZE,
      logLevel: parsed.LOG_LEVEL,
      production,
      alignBaseUrl: parsed.ALIGN_BASE_URL,
      alignWebhookBaseUrl: parsed.ALIGN_WEBHOOK_BASE_URL.replace(/\/+$/, ''),
      webhookSecretGraceSeconds: parsed.WEBHOOK_SECRET_GRACE_SECONDS,
      alignKeyMaxAgeDays: parsed.ALIGN_KEY_MAX_AGE_DAYS,
      auth: {
        jwksUrl: parsed.AUTH_JWKS_URL,
        publicKeyPem: parsed.AUTH_PUBLIC_KEY,
        algorithms: parsed.AUTH_ALGORITHMS.split(','),
        issuer: parsed.AUTH_ISSUER,
        audience: parsed.AUTH_AUDIENCE,
        devKeys,
        devKeyDir: parsed.AUTH_DEV_KEY_DIR,
      },
    },
    secrets: { encryptionKey: parsed.ALIGN_ENCRYPTION_KEY, previousEncryptionKeys: parsed.ALIGN_ENCRYPTION_KEYS_PREVIOUS },
  }
}
