// Fairness in the long-lived loop: a backlog never holds every slot, a NOTIFY claims at once for a tenant the
// worker has nothing of in hand, and the claim's read of the connection serves the handlers' field mappings.
import type { AlignGateway } from '@illumera/align-gateway'
import { type AlignSandbox, startAlignSandbox } from '@illumera/align-sandbox'
import { until, useTestDatabase } from '@illumera/test-harness'
import type { KyselyPlugin, OperationNode } from 'kysely'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { connect, enqueue, id, makeWorker, projectPayload, rowsOf, type TestConnection, userPayload } from './helpers/setup.js'

const t = useTestDatabase()
let sandbox: AlignSandbox
const started: Array<{ stop(): Promise<void> }> = []

beforeAll(async () => { sandbox = await startAlignSandbox({ port: 0, rateLimitPerMinute: 0 }) })
afterAll(async () => { await sandbox.close() })
afterEach(async () => {
  await Promise.all(started.splice(0).map((w) => w.stop()))
  await sandbox.control.clearFaults()
})

async function doneCount(localIds: string[]): Promise<number> {
  const rows = await t.db.selectFrom('align_sync_outbox').select('status').where('local_id', 'in', localIds).execute()
  return rows.filter((r) => r.status === 'done').length
}

describe('fairness in the loop', () => {
  it("a backlog holds at most its share of the slots; another tenant's NOTIFYed row starts at once in a free one", async () => {
    const big = await connect(t.db, sandbox)
    const small = await connect(t.db, sandbox)
    // Every Align call takes 1.5 s, and only NOTIFY wakes the worker (the poll is a minute).
    await sandbox.control.setFaults({ latencyMs: 1_500 })
    const { worker } = makeWorker(t.db, sandbox, { concurrency: 4, perConnectionClaim: 10, pollIntervalMs: 60_000 }, { databaseUrl: t.url })
    const backlog = Array.from({ length: 12 }, () => id('project'))
    for (const p of backlog) await enqueue(t.db, big, 'project', p, projectPayload())
    worker.start()
    started.push(worker)
    await until(() => worker.inFlight >= 3, 'the backlog in flight')
    await new Promise((resolve) => setTimeout(resolve, 200))
    // 4 slots, 12 rows claimable: the backlog keeps one slot free (at most concurrency minus a tenth, rounded up).
    expect(worker.inFlight).toBe(3)
    const p = id('project')
    const enqueuedAt = Date.now()
    await enqueue(t.db, small, 'project', p, projectPayload())
    await until(() => worker.inFlight === 4, "the other tenant's row in flight", { limitMs: 1_000 })
    await until(async () => (await rowsOf(t.db, p))[0]!.status === 'done', "the other tenant's row to be done", { limitMs: 5_000 })
    // It ran beside the backlog's first wave, not after it: at most that wave is done.
    expect(await doneCount(backlog)).toBeLessThanOrEqual(3)
    expect(Date.now() - enqueuedAt).toBeLessThan(3_000)
  })

  describe('share of the slots (slot-share.ts)', () => {
    // Align's project creates in flight per connection (told apart by the project's externalRef), and the most
    // seen at once: a unit in flight spends nearly all its time in its call here (every call takes 200 ms).
    function callsInFlight(connectionOf: Map<string, string>) {
      const now = new Map<string, number>()
      const most = new Map<string, number>()
      const wrapGateway = (gateway: AlignGateway): AlignGateway => new Proxy(gateway, {
        get(target, prop) {
          const value = Reflect.get(target, prop, target) as unknown
          if (typeof value !== 'function') return value
          const call = (...args: unknown[]) => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args)
          if (prop !== 'createProject') return call
          return async (...args: unknown[]) => {
            const connection = connectionOf.get((args[0] as { externalRef: { externalId: string } }).externalRef.externalId)!
            const n = (now.get(connection) ?? 0) + 1
            now.set(connection, n)
            most.set(connection, Math.max(most.get(connection) ?? 0, n))
            try {
              return await call(...args)
            } finally {
              now.set(connection, now.get(connection)! - 1)
            }
          }
        },
      })
      return { wrapGateway, most: (connection: string) => most.get(connection) ?? 0 }
    }

    const connectionOf = new Map<string, string>()
    afterEach(() => connectionOf.clear())

    async function backlog(c: TestConnection, n: number): Promise<string[]> {
      const ids = Array.from({ length: n }, () => id('project'))
      for (const p of ids) {
        connectionOf.set(p, c.connectionId)
        await enqueue(t.db, c, 'project', p, projectPayload())
      }
      return ids
    }

    async function runUntilDone(loopBusy: boolean, rows: string[]) {
      const calls = callsInFlight(connectionOf)
      // 8 slots: alone a connection may hold 7, beside another active one on a busy loop 2.
      const { worker } = makeWorker(t.db, sandbox, { concurrency: 8, perConnectionClaim: 10, pollIntervalMs: 60_000 }, { databaseUrl: t.url, wrapGateway: calls.wrapGateway, loopBusy: () => loopBusy })
      await sandbox.control.setFaults({ latencyMs: 200 })
      worker.start()
      started.push(worker)
      await until(async () => (await doneCount(rows)) === rows.length, 'every row to be done', { limitMs: 15_000 })
      return calls.most
    }

    it('two connections with work on a busy loop: neither holds more than a quarter of the slots', async () => {
      const a = await connect(t.db, sandbox)
      const b = await connect(t.db, sandbox)
      const rows = [...await backlog(a, 8), ...await backlog(b, 8)]
      const most = await runUntilDone(true, rows)
      expect([most(a.connectionId), most(b.connectionId)]).toEqual([2, 2])
    })

    it('one connection on a busy loop may use all but a tenth of the slots', async () => {
      const a = await connect(t.db, sandbox)
      const most = await runUntilDone(true, await backlog(a, 14))
      expect(most(a.connectionId)).toBe(7)
    })

    it('on an idle loop (the units wait on Align) a backlog beside another connection keeps its fair half and more', async () => {
      const a = await connect(t.db, sandbox)
      const b = await connect(t.db, sandbox)
      const rows = [...await backlog(a, 14), ...await backlog(b, 2)]
      const most = await runUntilDone(false, rows)
      expect(most(a.connectionId)).toBeGreaterThanOrEqual(6)
    })
  })

  it("the claim's read of the connection serves the handlers' field mappings: no read of their own", async () => {
    const c = await connect(t.db, sandbox)
    let mappingReads = 0
    const counter: KyselyPlugin = {
      transformQuery(args) {
        if (readsFieldMappings(args.node)) mappingReads++
        return args.node
      },
      async transformResult(args) { return args.result },
    }
    const { worker } = makeWorker(t.db.withPlugin(counter), sandbox, { pollIntervalMs: 60_000 }, { databaseUrl: t.url })
    worker.start()
    started.push(worker)
    await until(() => worker.listening, 'LISTEN')
    // An invite applies the role mapping. Each row is newer than any earlier read, so without the claim's
    // read each would need one.
    for (let i = 0; i < 3; i++) {
      const u = id('user')
      await enqueue(t.db, c, 'user', u, userPayload(`mapped${i}-${u.slice(-6)}`))
      await until(async () => (await rowsOf(t.db, u))[0]!.status === 'done', `row ${i} to be done`)
    }
    expect((await sandbox.control.state(c.organizationId)).users.filter((u) => u.externalRef?.externalType === 'user')).toHaveLength(3)
    expect(mappingReads).toBe(0)
  })
})

/** A builder query selecting align_connections.field_mappings (what field-mappings.ts reads on a cache miss). */
function readsFieldMappings(node: OperationNode): boolean {
  if (node.kind !== 'SelectQueryNode') return false
  const text = JSON.stringify(node)
  return text.includes('"align_connections"') && text.includes('"field_mappings"')
}
