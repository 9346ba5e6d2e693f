// The long-lived loop: NOTIFY wake-ups (the poll interval is set to a minute, so only NOTIFY can explain a
// prompt delivery), LISTEN reconnect, and a graceful stop that finishes in-flight rows.
import { type AlignSandbox, startAlignSandbox } from '@illumera/align-sandbox'
import { until, useTestDatabase } from '@illumera/test-harness'
import { sql } from 'kysely'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { claimDueOutboxRows, type ClaimOptions } from '../src/outbox/outbox.queries.js'
import { connect, enqueue, id, makeWorker, projectPayload, rowsOf } from './helpers/setup.js'

const t = useTestDatabase()
let sandbox: AlignSandbox
const started: Array<{ stop(): Promise<void> }> = []

beforeAll(async () => { sandbox = await startAlignSandbox({ port: 0, rateLimitPerMinute: 0 }) })
afterAll(async () => { await sandbox.close() })
afterEach(async () => {
  await Promise.all(started.splice(0).map((w) => w.stop()))
  await sandbox.control.clearFaults()
})

describe('start() / stop()', () => {
  it('a committed row reaches Align on the NOTIFY of its commit, not on a poll', async () => {
    const c = await connect(t.db, sandbox)
    const { worker } = makeWorker(t.db, sandbox, { pollIntervalMs: 60_000 }, { databaseUrl: t.url })
    worker.start()
    started.push(worker)
    await until(() => worker.listening, 'LISTEN')
    await new Promise((resolve) => setTimeout(resolve, 50)) // let the start-up claim go idle
    const p = id('project')
    await enqueue(t.db, c, 'project', p, projectPayload())
    await until(async () => (await rowsOf(t.db, p))[0]!.status === 'done', 'the row to be done')
    expect((await sandbox.control.state(c.organizationId)).projects).toHaveLength(1)
  })

  /** A project row committed without a NOTIFY (as if its wake-up were still on its way). */
  async function commitQuietly(c: Awaited<ReturnType<typeof connect>>): Promise<string> {
    const p = id('project')
    await t.db.insertInto('align_sync_outbox').values({
      tenant_id: c.tenantId, company_id: c.companyId, connection_id: c.connectionId,
      entity_type: 'project', local_id: p, operation: 'upsert', payload: JSON.stringify(projectPayload()),
    }).execute()
    return p
  }

  it('the claim on a NOTIFY reads only the connections it names (onlyConnections), or every one but those in hand (excludeConnections)', async () => {
    const named = await connect(t.db, sandbox)
    const other = await connect(t.db, sandbox)
    const rows = [await commitQuietly(named), await commitQuietly(other)]
    // What a claim with this scope takes of the two rows; rolled back, so every claim sees both pending.
    const claimed = async (scope: Pick<ClaimOptions, 'onlyConnections' | 'excludeConnections'>): Promise<string[]> => {
      let ids: string[] = []
      const rollback = new Error('rollback')
      await t.db.transaction().execute(async (trx) => {
        const got = await claimDueOutboxRows(trx, { now: new Date(), leaseToken: id('lease'), leaseMs: 60_000, limit: 10, perConnection: 10, cursor: '', ...scope })
        ids = got.map((r) => r.local_id).filter((localId) => rows.includes(localId)).sort()
        throw rollback
      }).catch((err: unknown) => { if (err !== rollback) throw err })
      return ids
    }
    expect(await claimed({ onlyConnections: [named.connectionId] })).toEqual([rows[0]])
    expect(await claimed({ onlyConnections: [other.connectionId] })).toEqual([rows[1]])
    expect(await claimed({ excludeConnections: [named.connectionId] })).toEqual([rows[1]])
    expect(await claimed({})).toEqual([...rows].sort())
  })

  it('a NOTIFY without a connection id (sent by hand) claims for every connection', async () => {
    const first = await connect(t.db, sandbox)
    const second = await connect(t.db, sandbox)
    const { worker } = makeWorker(t.db, sandbox, { pollIntervalMs: 60_000 }, { databaseUrl: t.url })
    worker.start()
    started.push(worker)
    await until(() => worker.listening, 'LISTEN')
    await new Promise((resolve) => setTimeout(resolve, 50))
    const rows = [await commitQuietly(first), await commitQuietly(second)]
    await sql`select pg_notify('align_sync_outbox', '')`.execute(t.db)
    await until(async () => {
      for (const r of rows) if ((await rowsOf(t.db, r))[0]!.status !== 'done') return false
      return true
    }, 'both connections\' rows to be done')
  })

  it('a row whose wake-up was lost (committed, never NOTIFYed) reaches Align on the next poll', async () => {
    const c = await connect(t.db, sandbox)
    const { worker } = makeWorker(t.db, sandbox, { pollIntervalMs: 300 }, { databaseUrl: t.url })
    worker.start()
    started.push(worker)
    await until(() => worker.listening, 'LISTEN')
    await new Promise((resolve) => setTimeout(resolve, 50)) // let the start-up claim go idle
    // As the api's time entry create path commits it when its post-commit NOTIFY is never sent.
    const p = id('project')
    await t.db.insertInto('align_sync_outbox').values({
      tenant_id: c.tenantId, company_id: c.companyId, connection_id: c.connectionId,
      entity_type: 'project', local_id: p, operation: 'upsert', payload: JSON.stringify(projectPayload()),
    }).execute()
    await until(async () => (await rowsOf(t.db, p))[0]!.status === 'done', 'the poll to deliver the row', { limitMs: 3_000 })
    expect((await sandbox.control.state(c.organizationId)).projects).toHaveLength(1)
  })

  it('reconnects LISTEN after its connection is killed', async () => {
    const c = await connect(t.db, sandbox)
    const { worker } = makeWorker(t.db, sandbox, { pollIntervalMs: 60_000 }, { databaseUrl: t.url })
    worker.start()
    started.push(worker)
    await until(() => worker.listening, 'LISTEN')
    await sql`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'sync-worker-listen' and datname = current_database()`.execute(t.db)
    await until(() => !worker.listening, 'the LISTEN connection to drop')
    await until(() => worker.listening, 'LISTEN to come back')
    await new Promise((resolve) => setTimeout(resolve, 50))
    const p = id('project')
    await enqueue(t.db, c, 'project', p, projectPayload())
    await until(async () => (await rowsOf(t.db, p))[0]!.status === 'done', 'the row to be done')
  })

  it('stop() stops claiming, finishes in-flight rows and leaves nothing half-done', async () => {
    const c = await connect(t.db, sandbox)
    const { worker } = makeWorker(t.db, sandbox, { pollIntervalMs: 20, concurrency: 4 }, { databaseUrl: t.url })
    await sandbox.control.setFaults({ latencyMs: 300 })
    const ids = Array.from({ length: 12 }, () => id('project'))
    for (const p of ids) await enqueue(t.db, c, 'project', p, projectPayload())
    worker.start()
    await until(() => worker.inFlight > 0, 'rows in flight')
    await worker.stop()
    const rows = await t.db.selectFrom('align_sync_outbox').select(['status']).where('local_id', 'in', ids).execute()
    expect(rows.filter((r) => r.status === 'processing')).toHaveLength(0)
    const done = rows.filter((r) => r.status === 'done').length
    expect(done).toBeGreaterThan(0)
    expect(done).toBeLessThan(12)
    expect((await sandbox.control.state(c.organizationId)).projects).toHaveLength(done)
  })
})
