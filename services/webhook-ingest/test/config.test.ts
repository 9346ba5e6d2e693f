import { ConfigError } from '@illumera/service-kit'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config.js'

const key = 'a'.repeat(64)
const base = { DATABASE_URL: 'postgres://u:p@localhost:5432/db', ALIGN_ENCRYPTION_KEY: key }

describe('loadConfig', () => {
  it('applies defaults and splits secrets from config', () => {
    const { config, secrets } = loadConfig(base)
    expect(config).toEqual({ DATABASE_URL: base.DATABASE_URL, PORT: 3001, LOG_LEVEL: 'info', DELIVERY_RETENTION_DAYS: 30, REPLAY_WINDOW_HOURS: 24, DB_POOL_SIZE: 20 })
    expect(secrets.ALIGN_ENCRYPTION_KEY).toBe(key)
    expect(JSON.stringify(config)).not.toContain(key)
  })

  it('reads DELIVERY_RETENTION_DAYS and REPLAY_WINDOW_HOURS', () => {
    expect(loadConfig({ ...base, DELIVERY_RETENTION_DAYS: '7', REPLAY_WINDOW_HOURS: '48' }).config).toMatchObject({ DELIVERY_RETENTION_DAYS: 7, REPLAY_WINDOW_HOURS: 48 })
  })

  it('reads DB_POOL_SIZE and refuses 0', () => {
    expect(loadConfig({ ...base, DB_POOL_SIZE: '40' }).config.DB_POOL_SIZE).toBe(40)
    expect(() => loadConfig({ ...base, DB_POOL_SIZE: '0' })).toThrow(/^DB_POOL_SIZE: invalid value/)
  })

  it('names the bad variable, never its value', () => {
    expect(() => loadConfig({ ...base, ALIGN_ENCRYPTION_KEY: 'short-secret' })).toThrow(ConfigError)
    expect(() => loadConfig({ ...base, ALIGN_ENCRYPTION_KEY: 'short-secret' })).toThrow(/^ALIGN_ENCRYPTION_KEY: invalid value/)
    try {
      loadConfig({ ...base, ALIGN_ENCRYPTION_KEY: 'short-secret' })
    } catch (err) {
      expect((err as Error).message).not.toContain('short-secret')
    }
    expect(() => loadConfig({ ...base, DELIVERY_RETENTION_DAYS: '0' })).toThrow(/^DELIVERY_RETENTION_DAYS: invalid value/)
    expect(() => loadConfig({ ALIGN_ENCRYPTION_KEY: key })).toThrow(/^DATABASE_URL: required/)
  })
})
