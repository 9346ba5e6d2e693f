import { describe, expect, it } from 'vitest'
import { CliArgsError, parseCliArgs } from '../src/cli-args.js'
import { loadConfig } from '../src/config.js'
import { decimalToCents, MoneyFormatError } from '../src/money.js'
import { exitCodeFor } from '../src/reconcile.js'

describe('decimalToCents', () => {
  it('parses decimal strings exactly, without floating point', () => {
    expect(decimalToCents('31000.00')).toBe(3_100_000n)
    expect(decimalToCents('0.29')).toBe(29n) // 0.29 * 100 is 28.999999999999996 in floating point
    expect(decimalToCents('1.1')).toBe(110n)
    expect(decimalToCents('7')).toBe(700n)
    expect(decimalToCents('90071992547409.93')).toBe(9_007_199_254_740_993n) // beyond Number.MAX_SAFE_INTEGER
    expect(decimalToCents('-12.34')).toBe(-1234n)
  })

  it('rounds a third decimal half away from zero', () => {
    expect(decimalToCents('1.005')).toBe(101n)
    expect(decimalToCents('1.004')).toBe(100n)
    expect(decimalToCents('-1.005')).toBe(-101n)
  })

  it('refuses what is not a decimal', () => {
    for (const bad of ['', 'abc', '1e3', '1,000.00', '12.']) expect(() => decimalToCents(bad)).toThrow(MoneyFormatError)
  })
})

describe('parseCliArgs', () => {
  it('reads every flag', () => {
    expect(parseCliArgs(['--connection', 'c1', '--fix', '--since', '2026-11-01'])).toEqual({ connectionId: 'c1', fix: true, dryRun: false, help: false, since: new Date('2026-11-01') })
    expect(parseCliArgs(['--dry-run', '--since=2026-11-01T10:00:00Z'])).toMatchObject({ dryRun: true, since: new Date('2026-11-01T10:00:00Z') })
    expect(parseCliArgs([])).toEqual({ dryRun: false, fix: false, help: false })
  })

  it('names the bad flag', () => {
    expect(() => parseCliArgs(['--nope'])).toThrow(/--nope/)
    expect(() => parseCliArgs(['--connection'])).toThrow(/--connection/)
    expect(() => parseCliArgs(['--since', '2026-13-45'])).toThrow(/--since/)
    expect(() => parseCliArgs(['extra'])).toThrow(CliArgsError)
  })
})

describe('loadConfig', () => {
  const base = { DATABASE_URL: 'postgres://localhost/x', ALIGN_ENCRYPTION_KEY: 'ab'.repeat(32) }
  it('applies defaults and keeps the key out of config', () => {
    const { config, secrets } = loadConfig(base)
    expect(config).toMatchObject({ ALIGN_RATE_LIMIT_PER_MINUTE: 600, RECONCILE_PROJECT_CONCURRENCY: 4, LOG_LEVEL: 'info' })
    expect(JSON.stringify(config)).not.toContain('ab'.repeat(32))
    expect(secrets.ALIGN_ENCRYPTION_KEY).toBe('ab'.repeat(32))
  })
  it('names a bad variable', () => {
    expect(() => loadConfig({ ...base, RECONCILE_PROJECT_CONCURRENCY: '0' })).toThrow(/RECONCILE_PROJECT_CONCURRENCY/)
  })
})

describe('exitCodeFor', () => {
  it('0 ok, 1 discrepancies, 2 incomplete or failed', () => {
    expect([exitCodeFor('ok'), exitCodeFor('discrepancies'), exitCodeFor('incomplete'), exitCodeFor('failed')]).toEqual([0, 1, 2, 2])
  })
})
