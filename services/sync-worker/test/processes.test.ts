// Real worker processes (src/main.ts) against the test database and the sandbox: kill -9 mid-batch loses
// nothing and duplicates nothing; two processes share one Align key's budget (its cap and its pacing) with zero 429s.
import { type AlignSandbox, startAlignSandbox } from '@illumera/align-sandbox'
import { defaultBurst, effectiveLimit, paceIntervalMs } from '@illumera/align-rate-budget'
import { until, useTestDatabase } from '@illumera/test-harness'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { spawnWorker, type WorkerProcess } from './helpers/processes.js'
import { connect, id, projectPayload } from './helpers/setup.js'

const t = useTestDatabase()
let sandbox: AlignSandbox
const children: WorkerProcess[] = []

beforeAll(async () => { sandbox = await startAlignSandbox({ port: 0, rateLimitPerMinute: 0 }) })
afterAll(async () => { await sandbox.close() })
afterEach(async () => {
  for (const c of children) if (process.env.SHOW_CHILD_OUTPUT) console.log(c.output.join('').slice(0, 3000))
  for (const c of children.splice(0)) {
    if (c.child.exitCode === null && c.child.signalCode === null) c.kill('SIGKILL')
    await c.exited
  }
  await sandbox.control.clearFaults()
})

async function seedProjects(connection: Awaited<ReturnType<typeof connect>>, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, () => id('project'))
  await t.db.insertInto('align_sync_outbox').values(ids.map((localId) => ({
    tenant_id: connection.tenantId, company_id: connection.companyId, connection_id: connection.connectionId,
    entity_type: 'project' as const, local_id: localId, operation: 'upsert' as const, payload: JSON.stringify(projectPayload(localId)),
  }))).execute()
  return ids
}

async function countByStatus(connectionId: string): Promise<Record<string, number>> {
  const rows = await t.db.selectFrom('align_sync_outbox').select(['status']).select((eb) => eb.fn.countAll<string>().as('n'))
    .where('connection_id', '=', connectionId).groupBy('status').execute()
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]))
}

describe('worker processes', () => {
  it('kill -9 mid-batch: another process finishes everything, nothing is lost and nothing is duplicated in Align', async () => {
    const c = await connect(t.db, sandbox)
    const ids = await seedProjects(c, 60)
    await sandbox.control.setFaults({ latencyMs: 150 })
    const env = {
      DATABASE_URL: t.url, ALIGN_BASE_URL: sandbox.apiBaseUrl, ALIGN_RATE_LIMIT_PER_MINUTE: '0',
      SYNC_CONCURRENCY: '8', SYNC_LEASE_MS: '1500', SYNC_POLL_INTERVAL_MS: '100',
    }
    const first = spawnWorker(env)
    children.push(first)
    await until(async () => {
      const s = await countByStatus(c.connectionId)
      return (s.done ?? 0) >= 10 && (s.processing ?? 0) > 0
    }, 'the first worker to be mid-batch', { limitMs: 20_000 })
    first.kill('SIGKILL')
    await first.exited
    const atKill = await countByStatus(c.connectionId)
    expect(atKill.processing).toBeGreaterThan(0)

    const second = spawnWorker(env)
    children.push(second)
    await until(async () => (await countByStatus(c.connectionId)).done === 60, 'every row to be done', { limitMs: 30_000 })
    second.kill('SIGTERM')
    expect(await second.exited).toBe(0)

    const state = await sandbox.control.state(c.organizationId)
    const externalIds = state.projects.map((p) => p.externalRef?.externalId)
    expect(externalIds).toHaveLength(60)
    expect(new Set(externalIds)).toEqual(new Set(ids))
    const links = await t.db.selectFrom('align_entity_links').select(['external_id', 'align_entity_id']).where('tenant_id', '=', c.tenantId).execute()
    expect(links).toHaveLength(60)
    expect(new Set(links.map((l) => l.align_entity_id))).toEqual(new Set(state.projects.map((p) => p.id)))
  }, 60_000)

  it('two processes share one key budget: together they stop at the limit, with zero 429s', async () => {
    const limit = 30
    await sandbox.control.setFaults({ rateLimitPerMinute: limit })
    const c = await connect(t.db, sandbox)
    // A burst of the whole limit: no pacing, only the sliding window's cap (pacing has its own test below).
    const env = {
      DATABASE_URL: t.url, ALIGN_BASE_URL: sandbox.apiBaseUrl, ALIGN_RATE_LIMIT_PER_MINUTE: String(limit), ALIGN_RATE_BURST: String(effectiveLimit(limit)),
      SYNC_CONCURRENCY: '4', SYNC_PER_CONNECTION_CLAIM: '4', SYNC_POLL_INTERVAL_MS: '50',
    }
    const a = spawnWorker(env)
    const b = spawnWorker(env)
    children.push(a, b)
    await until(() => [a, b].every((w) => w.output.join('').includes('sync worker started')), 'both workers to start', { limitMs: 20_000 })
    // Slow calls, so neither process can take the whole budget before the other claims.
    await sandbox.control.setFaults({ latencyMs: 100 })
    await seedProjects(c, 45)
    const granted = effectiveLimit(limit)
    await until(async () => (await countByStatus(c.connectionId)).done === granted, `${granted} rows done`, { limitMs: 20_000 })
    // Both keep polling for a while; neither may go past the shared budget (each alone would allow `granted`).
    await new Promise((resolve) => setTimeout(resolve, 2_000))
    const statuses = await countByStatus(c.connectionId)
    expect(statuses).toEqual({ done: granted, pending: 45 - granted })
    const pending = await t.db.selectFrom('align_sync_outbox').select(['attempts']).where('connection_id', '=', c.connectionId).where('status', '=', 'pending').execute()
    expect(pending.every((r) => r.attempts === 0)).toBe(true)
    a.kill('SIGTERM')
    b.kill('SIGTERM')
    expect(await a.exited).toBe(0)
    expect(await b.exited).toBe(0)
    const output = [...a.output, ...b.output].join('')
    expect(output).toContain('outbox unit processed')
    expect(output).not.toContain('Align rate limit hit')
    expect(output).not.toContain('"outcome":"429"')
    // Both processes did part of the work.
    expect(a.output.join('')).toContain('outbox unit processed')
    expect(b.output.join('')).toContain('outbox unit processed')
    expect((await sandbox.control.state(c.organizationId)).projects).toHaveLength(granted)
  }, 60_000)

  it('two processes share the pacing of one key: one burst between them, then one call per interval, nothing lost, zero 429s', async () => {
    const limit = 120
    await sandbox.control.setFaults({ rateLimitPerMinute: limit })
    const c = await connect(t.db, sandbox)
    const env = {
      DATABASE_URL: t.url, ALIGN_BASE_URL: sandbox.apiBaseUrl, ALIGN_RATE_LIMIT_PER_MINUTE: String(limit),
      SYNC_CONCURRENCY: '4', SYNC_PER_CONNECTION_CLAIM: '4', SYNC_POLL_INTERVAL_MS: '50',
    }
    const a = spawnWorker(env)
    const b = spawnWorker(env)
    children.push(a, b)
    await until(() => [a, b].every((w) => w.output.join('').includes('sync worker started')), 'both workers to start', { limitMs: 20_000 })
    await sandbox.control.setFaults({ latencyMs: 50 })
    const rows = 24
    await seedProjects(c, rows)
    await until(async () => (await countByStatus(c.connectionId)).done === rows, `${rows} rows done`, { limitMs: 40_000 })
    a.kill('SIGTERM')
    b.kill('SIGTERM')
    expect(await a.exited).toBe(0)
    expect(await b.exited).toBe(0)
    // Each row one grant and one call: units that found no grant soon enough went back without an attempt.
    const budget = await t.db.selectFrom('align_rate_budgets').select('grants').where('connection_id', '=', c.connectionId).executeTakeFirstOrThrow()
    const grants = budget.grants.map(Number).sort((x, y) => x - y)
    expect(grants).toHaveLength(rows)
    expect((await sandbox.control.state(c.organizationId)).projects).toHaveLength(rows)
    const done = await t.db.selectFrom('align_sync_outbox').select(['attempts']).where('connection_id', '=', c.connectionId).execute()
    expect(done.every((r) => r.attempts === 0)).toBe(true)
    // Shared pacing: any k grants of both processes together span at least (k − burst) intervals (each process
    // pacing on its own would allow two bursts and twice the rate).
    const burst = defaultBurst(limit)
    const interval = paceIntervalMs({ limitPerMinute: limit })
    for (let k = burst + 1; k <= rows; k++) {
      for (let i = 0; i + k - 1 < rows; i++) expect(grants[i + k - 1]! - grants[i]!).toBeGreaterThanOrEqual(Math.floor((k - burst) * interval))
    }
    const output = [...a.output, ...b.output].join('')
    expect(output).not.toContain('Align rate limit hit')
    expect(output).not.toContain('"outcome":"429"')
    expect(a.output.join('')).toContain('outbox unit processed')
    expect(b.output.join('')).toContain('outbox unit processed')
  }, 60_000)
})
