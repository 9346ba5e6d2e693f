// Configuration from the environment, validated once at start with a TypeBox schema per service.
// A bad or missing variable becomes a ConfigError whose one-line message names the variable and never
// shows its value (it may be a secret).
import { type Static, type TObject, type TSchema, Type } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** Variables several services share; each service composes only the ones it reads. */
export const EnvVars = {
  DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://', description: 'a postgres:// connection URL' }),
  PORT: (port: number) => Type.Integer({ minimum: 0, maximum: 65535, default: port, description: 'a TCP port (0–65535)' }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace'].map((l) => Type.Literal(l)),
    { default: 'info', description: 'one of fatal, error, warn, info, debug, trace' },
  ),
  ALIGN_ENCRYPTION_KEY: Type.String({ pattern: '^[0-9a-fA-F]{64}$', description: '64 hex characters (32 bytes)' }),
  ALIGN_ENCRYPTION_KEYS_PREVIOUS: Type.String({
    pattern: '^([0-9a-fA-F]{64})(,[0-9a-fA-F]{64})*$',
    description: 'comma-separated list of 64-hex-character keys',
  }),
  ALIGN_BASE_URL: Type.String({ pattern: '^https?://', default: 'https://app.alignsoft.us/api/v1', description: 'an http(s):// URL' }),
  ALIGN_WEBHOOK_BASE_URL: Type.String({ pattern: '^https?://', description: 'an http(s):// URL' }),
} as const

/**
 * Reads exactly the schema's variables from `env` (empty strings count as unset), applies defaults,
 * converts numbers and booleans, and validates. Throws ConfigError naming the first bad variable.
 */
export function parseEnv<S extends TObject>(schema: S, env: Record<string, string | undefined>): Static<S> {
  const picked: Record<string, string> = {}
  for (const key of Object.keys(schema.properties)) {
    const value = env[key]
    if (value !== undefined && value !== '') picked[key] = value
  }
  const properties = schema.properties as Record<string, TSchema>
  const invalid = (name: string) => {
    const expected = properties[name]?.description ? ` (expected ${properties[name]?.description})` : ''
    return new ConfigError(name in picked ? `${name}: invalid value${expected}` : `${name}: required${expected}`)
  }
  // TypeBox's conversion is lenient ('80.5' → 80, '0x10' → 0 for a number): numbers must be written plainly.
  for (const [name, raw] of Object.entries(picked)) {
    const type = properties[name]?.type
    if (type === 'integer' && !/^-?\d+$/.test(raw)) throw invalid(name)
    if (type === 'number' && !/^-?\d+(\.\d+)?$/.test(raw)) throw invalid(name)
  }
  const value = Value.Convert(schema, Value.Default(schema, picked))
  const first = Value.Errors(schema, value).First()
  if (!first) return value as Static<S>
  throw invalid(first.path.split('/')[1] ?? first.path)
}
