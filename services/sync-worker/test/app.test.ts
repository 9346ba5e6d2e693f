// The HTTP side (health, readiness, metrics) and the log-capture proof that no secret or payload reaches a log line.
import { type AlignSandbox, startAlignSandbox } from '@illumera/align-sandbox'
import { ConfigError } from '@illumera/service-kit'
import { useTestDatabase } from '@illumera/test-harness'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { connect, drain, ENCRYPTION_KEY, enqueue, id, makeWorker, projectPayload, userPayload } from './helpers/setup.js'

const t = useTestDatabase()
let sandbox: AlignSandbox

beforeAll(async () => { sandbox = await startAlignSandbox({ port: 0, rateLimitPerMinute: 0 }) })
afterAll(async () => { await sandbox.close() })

/** The value of the sample with these labels (in any order) in a Prometheus text body. */
function sample(body: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of body.split('\n')) {
    const m = /^(\w+)\{([^}]*)\} (\S+)$/.exec(line)
    if (!m || m[1] !== name) continue
    const have = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]))
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3])
  }
  return undefined
}

describe('HTTP', () => {
  it('serves /healthz, /readyz and /metrics with the worker metrics', async () => {
    const c = await connect(t.db, sandbox)
    const { worker, logs, metrics } = makeWorker(t.db, sandbox)
    await enqueue(t.db, c, 'project', id('project'), projectPayload())
    await drain(worker)
    let shuttingDown = false
    const app = await buildApp({ db: t.db, logger: logs.logger, metrics, isShuttingDown: () => shuttingDown })
    try {
      expect((await app.inject('/healthz')).statusCode).toBe(200)
      expect((await app.inject('/readyz')).json()).toMatchObject({ status: 'ready', checks: { database: 'ok' } })
      const body = (await app.inject('/metrics')).body
      expect(sample(body, 'sync_rows_claimed_total', { entity_type: 'project' })).toBe(1)
      expect(sample(body, 'sync_rows_done_total', { entity_type: 'project' })).toBe(1)
      expect(sample(body, 'sync_align_call_duration_seconds_count', { operation: 'createProject', outcome: 'ok' })).toBe(1)
      expect(sample(body, 'sync_outbox_depth', { status: 'pending' })).toBe(0)
      expect(sample(body, 'sync_outbox_oldest_age_seconds', { status: 'failed' })).toBe(0)
      shuttingDown = true
      expect((await app.inject('/readyz')).statusCode).toBe(503)
    } finally {
      await app.close()
    }
  })
})

describe('logs', () => {
  it('never carry the API key, its ciphertext or payload values, on success or failure', async () => {
    const c = await connect(t.db, sandbox)
    const { worker, logs } = makeWorker(t.db, sandbox)
    const secretName = 'Zelda Quixotic-Payload'
    const secretEmail = 'zelda.secret.payload@example.com'
    await enqueue(t.db, c, 'user', id('user'), { ...userPayload('x'), name: secretName, email: secretEmail })
    await enqueue(t.db, c, 'project', id('project'), { ...projectPayload(secretName), description: secretEmail })
    await drain(worker)
    await sandbox.control.setFaults({ errorRate: 1, status: 500 })
    await enqueue(t.db, c, 'project', id('project'), { ...projectPayload(secretName), description: secretEmail })
    await drain(worker)
    await sandbox.control.clearFaults()
    await sandbox.control.revokeKey(c.apiKey)
    await enqueue(t.db, c, 'project', id('project'), { ...projectPayload(secretName), description: secretEmail })
    await drain(worker)
    const text = logs.lines.join('')
    expect(text).toContain('outbox unit processed')
    expect(text).toContain('retrying later')
    expect(text).toContain('Align API key rejected')
    const { encrypted_api_key } = await t.db.selectFrom('align_connections').select('encrypted_api_key').where('id', '=', c.connectionId).executeTakeFirstOrThrow()
    for (const secret of [c.apiKey, encrypted_api_key, secretName, secretEmail, ENCRYPTION_KEY]) expect(text).not.toContain(secret)
  })
})

describe('config', () => {
  const base = { DATABASE_URL: 'postgres://localhost/x', ALIGN_ENCRYPTION_KEY: ENCRYPTION_KEY }
  it('applies defaults and parses the tunables', () => {
    const { config, secrets } = loadConfig({ ...base, SYNC_RETRY_DELAYS_MS: '10,20', ALIGN_RATE_LIMIT_PER_MINUTE: '60' })
    expect(config).toMatchObject({ PORT: 3002, SYNC_RETRY_DELAYS_MS: [10, 20], ALIGN_RATE_LIMIT_PER_MINUTE: 60, SYNC_POLL_INTERVAL_MS: 2000, SYNC_LEASE_MS: 600_000 })
    expect(secrets.ALIGN_ENCRYPTION_KEY).toBe(ENCRYPTION_KEY)
    expect(JSON.stringify(config)).not.toContain(ENCRYPTION_KEY)
  })
  it('ALIGN_RATE_BURST: optional, at most the paced limit', () => {
    expect(loadConfig(base).config.ALIGN_RATE_BURST).toBeUndefined()
    expect(loadConfig({ ...base, ALIGN_RATE_BURST: '20' }).config.ALIGN_RATE_BURST).toBe(20)
    expect(() => loadConfig({ ...base, ALIGN_RATE_LIMIT_PER_MINUTE: '60', ALIGN_RATE_BURST: '60' }))
      .toThrow(new ConfigError('ALIGN_RATE_BURST must be at most 59 (the paced limit for ALIGN_RATE_LIMIT_PER_MINUTE=60), got 60'))
    expect(() => loadConfig({ ...base, ALIGN_RATE_BURST: '0' })).toThrow(/^ALIGN_RATE_BURST: /)
  })
  it('names a missing or bad variable without showing its value', () => {
    expect(() => loadConfig({ DATABASE_URL: base.DATABASE_URL })).toThrow(new ConfigError('ALIGN_ENCRYPTION_KEY: required (expected 64 hex characters (32 bytes))'))
    try {
      loadConfig({ ...base, SYNC_RETRY_DELAYS_MS: '1m,5m' })
      expect.unreachable()
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError)
      expect((err as Error).message).toMatch(/^SYNC_RETRY_DELAYS_MS: invalid value/)
      expect((err as Error).message).not.toContain('1m,5m')
    }
  })
})
