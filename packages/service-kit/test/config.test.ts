import { Type } from '@sinclair/typebox'
import { describe, expect, it } from 'vitest'
import { ConfigError, EnvVars, parseEnv } from '../src/index.js'

const Env = Type.Object({
  DATABASE_URL: EnvVars.DATABASE_URL,
  PORT: EnvVars.PORT(3000),
  LOG_LEVEL: EnvVars.LOG_LEVEL,
  ALIGN_ENCRYPTION_KEY: EnvVars.ALIGN_ENCRYPTION_KEY,
  ALIGN_ENCRYPTION_KEYS_PREVIOUS: Type.Optional(EnvVars.ALIGN_ENCRYPTION_KEYS_PREVIOUS),
})
const good = { DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db', ALIGN_ENCRYPTION_KEY: 'a'.repeat(64) }

function errorOf(env: Record<string, string | undefined>): Error {
  try {
    parseEnv(Env, env)
  } catch (err) {
    return err as Error
  }
  throw new Error('expected parseEnv to throw')
}

describe('parseEnv', () => {
  it('applies defaults, converts numbers and keeps only its own variables', () => {
    const config = parseEnv(Env, { ...good, PORT: '8080', HOME: '/root', AWS_SECRET: 'x' })
    expect(config).toEqual({ ...good, PORT: 8080, LOG_LEVEL: 'info' })
  })

  it('names a missing variable', () => {
    const err = errorOf({ ALIGN_ENCRYPTION_KEY: good.ALIGN_ENCRYPTION_KEY })
    expect(err).toBeInstanceOf(ConfigError)
    expect(err.message).toBe('DATABASE_URL: required (expected a postgres:// connection URL)')
  })

  it('treats an empty value as missing', () => {
    expect(errorOf({ ...good, DATABASE_URL: '' }).message).toMatch(/^DATABASE_URL: required/)
  })

  it('names an invalid variable without showing its value', () => {
    const secret = 'not-hex-but-a-secret-value-0123456789-0123456789-0123456789-abcdef'
    const err = errorOf({ ...good, ALIGN_ENCRYPTION_KEY: secret })
    expect(err.message).toBe('ALIGN_ENCRYPTION_KEY: invalid value (expected 64 hex characters (32 bytes))')
    expect(err.message).not.toContain(secret)
    expect(errorOf({ ...good, PORT: 'eighty' }).message).toBe('PORT: invalid value (expected a TCP port (0–65535))')
    expect(errorOf({ ...good, PORT: '70000' }).message).toMatch(/^PORT: invalid value/)
    expect(errorOf({ ...good, PORT: '3000.5' }).message).toMatch(/^PORT: invalid value/)
    expect(errorOf({ ...good, PORT: '0x10' }).message).toMatch(/^PORT: invalid value/)
    expect(errorOf({ ...good, PORT: ' 3000' }).message).toMatch(/^PORT: invalid value/)
    expect(errorOf({ ...good, LOG_LEVEL: 'loud' }).message).toMatch(/^LOG_LEVEL: invalid value/)
    expect(errorOf({ ...good, ALIGN_ENCRYPTION_KEYS_PREVIOUS: `${'b'.repeat(64)},nope` }).message).toMatch(/^ALIGN_ENCRYPTION_KEYS_PREVIOUS: invalid value/)
  })
})
