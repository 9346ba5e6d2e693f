// The queue's guarantees against a real Postgres and the sandbox: order, dependency wait, coalescing, bulk
// invite, every failure class, no duplicates after lost responses or admin retries, fencing, fairness.
import { type AlignSandbox, startAlignSandbox } from '@illumera/align-sandbox'
import { createEngagement, createProject, createTalent, createTimeEntry, until, useTestDatabase } from '@illumera/test-harness'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  alignCalls, connect, drain, enqueue, entryPayload, FAST_RETRIES, id, later, linkOf, makeWorker, projectPayload, rowsOf,
  type TestConnection, userPayload,
} from './helpers/setup.js'

const t = useTestDatabase()
let sandbox: AlignSandbox

beforeAll(async () => { sandbox = await startAlignSandbox({ port: 0, rateLimitPerMinute: 0 }) })
afterAll(async () => { await sandbox.close() })
afterEach(async () => { await sandbox.control.clearFaults() })

async function localTimeEntry(c: TestConnection): Promise<string> {
  const project = await createProject(t.db, { tenantId: c.tenantId, companyId: c.companyId })
  const { person } = await createTalent(t.db, c.tenantId)
  const engagement = await createEngagement(t.db, project, person.id)
  return (await createTimeEntry(t.db, engagement)).id
}

async function staffed(c: TestConnection, worker: ReturnType<typeof makeWorker>['worker'], now = new Date()) {
  const projectId = id('project')
  const userId = id('user')
  await enqueue(t.db, c, 'project', projectId, projectPayload())
  await enqueue(t.db, c, 'user', userId, userPayload(id('u')))
  await enqueue(t.db, c, 'project_member', id('engagement'), { localProjectId: projectId, localUserId: userId })
  await drain(worker, now)
  return { projectId, userId }
}

describe('order and dependencies', () => {
  it('a submit never overtakes its create, even while the create is in backoff', async () => {
    const c = await connect(t.db, sandbox)
    const { worker } = makeWorker(t.db, sandbox)
    const now = new Date()
    const { projectId, userId } = await staffed(c, worker, now)
    const entryId = await localTimeEntry(c)
    await enqueue(t.db, c, 'time_entry', entryId, entryPayload(projectId, userId))
    await enqueue(t.db, c, 'time_entry_submit', entryId, {})
    await sandbox.control.setFaults({ failNextRequests: 1, status: 503 })
    await drain(worker, now)
    let rows = await rowsOf(t.db, entryId)
    expect(rows.map((r) => [r.entity_type, r.status, r.attempts])).toEqual([['time_entry', 'pending', 1], ['time_entry_submit', 'pending', 0]])
    // The submit is due, but its create is not: nothing is claimed until the backoff passes.
    await drain(worker, later(now, FAST_RETRIES[0]! - 10))
    expect((await rowsOf(t.db, entryId)).map((r) => r.status)).toEqual(['pending', 'pending'])
    await drain(worker, later(now, FAST_RETRIES[0]!))
    rows = await rowsOf(t.db, entryId)
    expect(rows.map((r) => r.status)).toEqual(['done', 'done'])
    expect((await sandbox.control.state(c.organizationId)).timeEntries[0]!.status).toBe('submitted')
  })

  it('a cycle ends only once the wake-ups of the rows it finished have committed, so the next claim finds the woken row', async () => {
    // The race: the project finishes and its wake-up statement starts (5 ms later) while another unit of the
    // cycle (the user) is still running; the cycle must not end before that statement commits. The test makes
    // the statement slow (a transaction holds the parked member's row) and the user's call late.
    const c = await connect(t.db, sandbox)
    const projectId = id('project')
    const userId = id('user')
    const engagementId = id('engagement')
    let held: Promise<void> | null = null
    const holdMemberRow = () => new Promise<void>((locked) => {
      held = t.db.transaction().execute(async (trx) => {
        await trx.selectFrom('align_sync_outbox').select('id').where('local_id', '=', engagementId).forUpdate().execute()
        locked()
        await new Promise((resolve) => setTimeout(resolve, 400))
      })
    })
    const { worker } = makeWorker(t.db, sandbox, {}, {
      wrapGateway: (gateway) => new Proxy(gateway, {
        get(target, prop) {
          const value = Reflect.get(target, prop, target) as unknown
          if (typeof value !== 'function') return value
          const call = (...args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(target, args)
          if (prop === 'createProject') {
            return async (...args: unknown[]) => {
              // Once the member has parked waiting for this project, its row is held while the project finishes.
              await until(async () => (await rowsOf(t.db, engagementId))[0]?.waiting_for === `project:${projectId}`, 'the member to park')
              await holdMemberRow()
              return call(...args)
            }
          }
          if (prop === 'inviteUser') return async (...args: unknown[]) => { await new Promise((resolve) => setTimeout(resolve, 100)); return call(...args) }
          return call
        },
      }),
    })
    await enqueue(t.db, c, 'project', projectId, projectPayload())
    await enqueue(t.db, c, 'user', userId, userPayload(id('u')))
    await enqueue(t.db, c, 'project_member', engagementId, { localProjectId: projectId, localUserId: userId })
    const now = new Date()
    const first = await worker.runOnce(now)
    expect(first).toMatchObject({ claimed: 3, done: 2, waiting: 1 })
    // The member was woken before runOnce returned: due now, not at its recheck time.
    expect((await rowsOf(t.db, engagementId))[0]).toMatchObject({ status: 'pending', waiting_for: null, next_retry_at: now })
    await drain(worker, now)
    expect((await rowsOf(t.db, engagementId))[0]).toMatchObject({ status: 'done', attempts: 0 })
    await held
  })

  it('a row whose dependency is not linked waits without spending attempts and wakes when the link lands', async () => {
    const c = await connect(t.db, sandbox)
    const { worker } = makeWorker(t.db, sandbox, { dependencyRecheckMs: 3_600_000 })
    const now = new Date()
    const projectId = id('project')
    const userId = id('user')
    const entryId = await localTimeEntry(c)
    await enqueue(t.db, c, 'time_entry', entryId, entryPayload(projectId, userId))
    await drain(worker, now)
    let [row] = await rowsOf(t.db, entryId)
    expect(row).toMatchObject({ status: 'pending', attempts: 0, waiting_for: `project:${projectId}` })
    expect(row!.next_retry_at.getTime()).toBeGreaterThan(later(now, 3_000_000).getTime())
    // The project, the user and the membership land; each wakes the entry, which then waits for the next.
    await enqueue(t.db, c, 'project', projectId, projectPayload())
    await enqueue(t.db, c, 'user', userId, userPayload(id('u')))
    await enqueue(t.db, c, 'project_member', id('engagement'), { localProjectId: projectId, localUserId: userId })
    await drain(worker, now)
    ;[row] = await rowsOf(t.db, entryId)
    expect(row).toMatchObject({ status: 'done', attempts: 0, waiting_for: null })
    expect((await sandbox.control.state(c.organizationId)).timeEntries).toHaveLength(1)
  })
})

describe('coalescing and batching', () => {
  it('pending upserts of one entity coalesce into one call with the latest payload', async () => {
    const c = await connect(t.db, sandbox)
    const { worker, metrics } = makeWorker(t.db, sandbox)
    const p = id('project')
    for (const name of ['v1', 'v2', 'v3', 'v4', 'v5']) await enqueue(t.db, c, 'project', p, projectPayload(name))
    const summary = await worker.runOnce()
    expect(summary).toMatchObject({ claimed: 5, done: 5 })
    expect((await rowsOf(t.db, p)).every((r) => r.status === 'done')).toBe(true)
    const state = await sandbox.control.state(c.organizationId)
    expect(state.projects.map((x) => x.name)).toEqual(['v5'])
    expect(await alignCalls(metrics, 'createProject')).toBe(1)
    expect(await alignCalls(metrics, 'updateProject')).toBe(0)
  })

  it('a delete between upserts is not coalesced away', async () => {
    const c = await connect(t.db, sandbox)
    const { worker } = makeWorker(t.db, sandbox)
    const { projectId, userId } = await staffed(c, worker)
    const engagementId = id('engagement')
    await enqueue(t.db, c, 'project_member', engagementId, { localProjectId: projectId, localUserId: userId })
    await enqueue(t.db, c, 'project_member', engagementId, null, 'delete')
    await enqueue(t.db, c, 'project_member', engagementId, { localProjectId: projectId, localUserId: userId })
    await drain(worker)
    expect((await rowsOf(t.db, engagementId)).map((r) => [r.operation, r.status])).toEqual([['upsert', 'done'], ['delete', 'done'], ['upsert', 'done']])
    expect(await linkOf(t.db, 'project_member', engagementId)).toBeDefined()
  })

  it('pending invites of one connection go out as bulk invites of at most 50', async () => {
    const c = await connect(t.db, sandbox)
    const { worker, metrics } = makeWorker(t.db, sandbox)
    const users = Array.from({ length: 60 }, () => id('user'))
    for (const [i, u] of users.entries()) await enqueue(t.db, c, 'user', u, userPayload(`bulk${i}-${u.slice(-6)}`))
    await drain(worker)
    expect(await alignCalls(metrics, 'inviteUser')).toBe(0)
    expect(await alignCalls(metrics, 'bulkInviteUsers')).toBe(2)
    const state = await sandbox.control.state(c.organizationId)
    expect(state.users.filter((u) => u.externalRef?.externalType === 'user')).toHaveLength(60)
    const links = await t.db.selectFrom('align_entity_links').select('external_id').where('tenant_id', '=', c.tenantId).where('external_type', '=', 'user').execute()
    expect(new Set(links.map((l) => l.external_id))).toEqual(new Set(users))
  })
})

describe('failure classes', () => {
  it('5xx and connection errors back off 1, 2, 3, 4, 5 (scaled) then dead-letter, recording the error on the connection and the entry', async () => {
    const c = await connect(t.db, sandbox)
    const { worker } = makeWorker(t.db, sandbox)
    const now = new Date()
    const { projectId, userId } = await staffed(c, worker, now)
    const entryId = await localTimeEntry(c)
    await enqueue(t.db, c, 'time_entry', entryId, entryPayload(projectId, userId))
    await sandbox.control.setFaults({ errorRate: 1, status: 502 })
    let at = now
    for (let attempt = 1; attempt <= FAST_RETRIES.length; attempt++) {
      await worker.runOnce(at)
      const [row] = await rowsOf(t.db, entryId)
      expect(row).toMatchObject({ status: 'pending', attempts: attempt })
      expect(row!.next_retry_at.getTime()).toBe(at.getTime() + FAST_RETRIES[attempt - 1]!)
      expect(row!.error).toContain('502')
      at = row!.next_retry_at
    }
    await worker.runOnce(at)
    const [row] = await rowsOf(t.db, entryId)
    expect(row).toMatchObject({ status: 'failed', attempts: FAST_RETRIES.length + 1 })
    const conn = await t.db.selectFrom('align_connections').selectAll().where('id', '=', c.connectionId).executeTakeFirstOrThrow()
    expect(conn.last_error_message).toContain('502')
    expect(conn.status).toBe('active')
    const entry = await t.db.selectFrom('time_entries').select(['sync_status', 'sync_error']).where('id', '=', entryId).executeTakeFirstOrThrow()
    expect(entry.sync_status).toBe('error')
    expect(entry.sync_error).toContain('502')
  })

  it('400/422 go to the dead letter at once with the reason', async () => {
    const c = await connect(t.db, sandbox)
    const { worker } = makeWorker(t.db, sandbox)
    const { projectId, userId } = await staffed(c, worker)
    // Our side believes the user is a member; Align does not (removed there): 422 user_not_member.
    const state = await sandbox.control.state(c.organizationId)
    const alignUser = state.users.find((u) => u.externalRef?.externalId === userId)!
    await t.db.deleteFrom('align_entity_links').where('tenant_id', '=', c.tenantId).where('external_type', '=', 'project_member').execute()
    await sandbox.control.setFaults({})
    const gatewayRemoval = await fetch(`${sandbox.apiBaseUrl}/projects/${state.projects[0]!.id}/members/${alignUser.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${c.apiKey}` } })
    expect(gatewayRemoval.status).toBe(204)
    await t.db.insertInto('align_entity_links').values({
      tenant_id: c.tenantId, company_id: c.companyId, provider: 'illumera', external_type: 'project_member', external_id: id('engagement'),
      align_entity_type: 'project_member', align_entity_id: `${state.projects[0]!.id}:${alignUser.id}`,
    }).execute()
    const entryId = await localTimeEntry(c)
    await enqueue(t.db, c, 'time_entry', entryId, entryPayload(projectId, userId))
    await worker.runOnce()
    const [row] = await rowsOf(t.db, entryId)
    expect(row).toMatchObject({ status: 'failed', attempts: 1 })
    expect(row!.error).toContain('user_not_member')
    expect((await t.db.selectFrom('time_entries').select('sync_status').where('id', '=', entryId).executeTakeFirstOrThrow()).sync_status).toBe('error')
  })

  it('404 on an update of a project deleted in Align: the stale link is dropped and the project re-created', async () => {
    const c = await connect(t.db, sandbox)
    const { worker } = makeWorker(t.db, sandbox)
    const p = id('project')
    await t.db.insertInto('align_entity_links').values({
      tenant_id: c.tenantId, company_id: c.companyId, provider: 'illumera', external_type: 'project', external_id: p, align_entity_type: 'project', align_entity_id: 'vanished-in-align',
    }).execute()
    await enqueue(t.db, c, 'project', p, projectPayload('Back again'))
    await worker.runOnce()
    const state = await sandbox.control.state(c.organizationId)
    expect(state.projects.map((x) => x.name)).toEqual(['Back again'])
    expect((await linkOf(t.db, 'project', p))!.align_entity_id).toBe(state.projects[0]!.id)
  })

  it('401: the connection goes to error with a rotate-the-key message, its rows wait without attempts, and flow again after rotation', async () => {
    const c = await connect(t.db, sandbox)
    const { worker } = makeWorker(t.db, sandbox)
    await sandbox.control.revokeKey(c.apiKey)
    const p = id('project')
    await enqueue(t.db, c, 'project', p, projectPayload())
    await worker.runOnce()
    const conn = await t.db.selectFrom('align_connections').selectAll().where('id', '=', c.connectionId).executeTakeFirstOrThrow()
    expect(conn.status).toBe('error')
    expect(conn.last_error_message).toMatch(/rejected the API key.*PATCH \/api\/align\/connections/)
    expect(conn.last_error_message).not.toContain(c.apiKey)
    expect((await rowsOf(t.db, p))[0]).toMatchObject({ status: 'pending', attempts: 0 })
    expect((await worker.runOnce()).claimed).toBe(0)
    // The admin rotates the key (what PATCH /api/align/connections does): new ciphertext, status active.
    const { apiKey } = await sandbox.control.createKey(c.organizationId, { scope: 'organization' })
    const { encryptConnectionSecret } = await import('@illumera/service-kit')
    const { box } = await import('./helpers/setup.js')
    await t.db.updateTable('align_connections').set({ status: 'active', encrypted_api_key: encryptConnectionSecret(box, c.connectionId, 'encrypted_api_key', apiKey) }).where('id', '=', c.connectionId).execute()
    await worker.runOnce()
    expect((await rowsOf(t.db, p))[0]).toMatchObject({ status: 'done', attempts: 0 })
  })

  it('429: the connection pauses until Retry-After, the row is re-queued then without an attempt, other connections keep flowing', async () => {
    const a = await connect(t.db, sandbox)
    const b = await connect(t.db, sandbox)
    const { worker } = makeWorker(t.db, sandbox)
    await sandbox.control.setFaults({ rateLimitPerMinute: 1 })
    const p1 = id('project')
    const p2 = id('project')
    await enqueue(t.db, a, 'project', p1, projectPayload())
    await worker.runOnce()
    await enqueue(t.db, a, 'project', p2, projectPayload())
    const now = new Date()
    await worker.runOnce(now)
    const [row] = await rowsOf(t.db, p2)
    // Nothing reached Align: the row must not look like a retry (which would first look the entity up).
    expect(row).toMatchObject({ status: 'pending', attempts: 0, last_attempt_at: null })
    const conn = await t.db.selectFrom('align_connections').select('paused_until').where('id', '=', a.connectionId).executeTakeFirstOrThrow()
    expect(conn.paused_until!.getTime()).toBeGreaterThan(now.getTime())
    expect(row!.next_retry_at.getTime()).toBe(conn.paused_until!.getTime())
    // Connection b has its own key and budget: it flows.
    const q = id('project')
    await enqueue(t.db, b, 'project', q, projectPayload())
    await worker.runOnce(now)
    expect((await rowsOf(t.db, q))[0]!.status).toBe('done')
    expect((await rowsOf(t.db, p2))[0]!.status).toBe('pending')
  })
})

describe('exactly once in effect', () => {
  it('commit-then-drop: the create reached Align, the response was lost; the retry creates no duplicate', async () => {
    const c = await connect(t.db, sandbox)
    const { worker } = makeWorker(t.db, sandbox)
    const now = new Date()
    const p = id('project')
    await enqueue(t.db, c, 'project', p, projectPayload())
    await sandbox.control.setFaults({ dropAfterCommitRate: 1 })
    await worker.runOnce(now)
    expect((await rowsOf(t.db, p))[0]).toMatchObject({ status: 'pending', attempts: 1 })
    expect((await sandbox.control.state(c.organizationId)).projects).toHaveLength(1)
    await sandbox.control.clearFaults()
    await worker.runOnce(later(now, FAST_RETRIES[0]!))
    const state = await sandbox.control.state(c.organizationId)
    expect(state.projects).toHaveLength(1)
    expect((await linkOf(t.db, 'project', p))!.align_entity_id).toBe(state.projects[0]!.id)
  })

  it('dead letter, then an admin retry (and a later snapshot under the same key) create no duplicate', async () => {
    const c = await connect(t.db, sandbox)
    const { worker } = makeWorker(t.db, sandbox)
    const p = id('project')
    await enqueue(t.db, c, 'project', p, projectPayload('Original'))
    // The first create commits in Align but its answer is lost; every later attempt meets a 503.
    await sandbox.control.setFaults({ dropAfterCommitRate: 1 })
    let at = new Date()
    await worker.runOnce(at)
    await sandbox.control.setFaults({ dropAfterCommitRate: 0, errorRate: 1, status: 503 })
    for (let i = 0; i < FAST_RETRIES.length; i++) {
      at = (await rowsOf(t.db, p))[0]!.next_retry_at
      await worker.runOnce(at)
    }
    expect((await rowsOf(t.db, p))[0]!.status).toBe('failed')
    await sandbox.control.clearFaults()
    // Admin retry (POST /api/admin/align/sync/retry-failed): back to pending with fresh attempts.
    await t.db.updateTable('align_sync_outbox').set({ status: 'pending', attempts: 0, error: null, next_retry_at: new Date() }).where('local_id', '=', p).execute()
    await worker.runOnce(later(at, 1))
    let state = await sandbox.control.state(c.organizationId)
    expect(state.projects).toHaveLength(1)
    expect((await linkOf(t.db, 'project', p))!.align_entity_id).toBe(state.projects[0]!.id)

    // A second entity: dead-lettered the same way, then a new snapshot (new row, no earlier attempt) arrives:
    // its create reuses the key with another body (idempotency_key_reused), so the worker adopts instead.
    const p2 = id('project')
    await enqueue(t.db, c, 'project', p2, projectPayload('First name'))
    await sandbox.control.setFaults({ dropAfterCommitRate: 1 })
    await worker.runOnce(at)
    await t.db.updateTable('align_sync_outbox').set({ status: 'failed' }).where('local_id', '=', p2).execute()
    await sandbox.control.clearFaults()
    await enqueue(t.db, c, 'project', p2, projectPayload('Second name'))
    await worker.runOnce(later(at, 1))
    state = await sandbox.control.state(c.organizationId)
    expect(state.projects.filter((x) => x.externalRef?.externalId === p2).map((x) => x.name)).toEqual(['Second name'])
    expect((await rowsOf(t.db, p2)).map((r) => r.status)).toEqual(['failed', 'done'])
  })

  it('two workers never process one row', async () => {
    const c = await connect(t.db, sandbox)
    const a = makeWorker(t.db, sandbox, { concurrency: 7 })
    const b = makeWorker(t.db, sandbox, { concurrency: 7 })
    const ids = Array.from({ length: 40 }, () => id('project'))
    for (const p of ids) await enqueue(t.db, c, 'project', p, projectPayload(p))
    await sandbox.control.setFaults({ latencyMs: 5 })
    let claimed = 0
    let done = 0
    for (let i = 0; i < 20 && done < 40; i++) {
      const [x, y] = await Promise.all([a.worker.runOnce(), b.worker.runOnce()])
      claimed += x.claimed + y.claimed
      done += x.done + y.done
    }
    expect(claimed).toBe(40)
    expect(done).toBe(40)
    expect(await alignCalls(a.metrics, 'createProject') + await alignCalls(b.metrics, 'createProject')).toBe(40)
    expect((await sandbox.control.state(c.organizationId)).projects).toHaveLength(40)
  })

  it('a lease that expired and was re-claimed cannot be finished by its first holder', async () => {
    const c = await connect(t.db, sandbox)
    const first = makeWorker(t.db, sandbox, { leaseMs: 60_000 })
    const second = makeWorker(t.db, sandbox, { leaseMs: 60_000 })
    const p = id('project')
    await enqueue(t.db, c, 'project', p, projectPayload())
    await sandbox.control.setFaults({ latencyMs: 400 })
    const now = new Date()
    const slow = first.worker.runOnce(now)
    await new Promise((resolve) => setTimeout(resolve, 100)) // the first holder is inside its Align call
    const takeover = await second.worker.runOnce(later(now, 61_000))
    const stale = await slow
    expect(takeover.done).toBeGreaterThanOrEqual(1)
    expect(stale).toMatchObject({ claimed: 1, done: 0 })
    expect(first.logs.lines.join('')).toContain('lease had expired')
    const [row] = await rowsOf(t.db, p)
    expect(row).toMatchObject({ status: 'done', attempts: 1 })
    expect((await sandbox.control.state(c.organizationId)).projects).toHaveLength(1)
  })
})

describe('fairness and retention', () => {
  it("one tenant's backlog does not delay another tenant's single row beyond one claim", async () => {
    const big = await connect(t.db, sandbox)
    const small = await connect(t.db, sandbox)
    const { worker } = makeWorker(t.db, sandbox, { concurrency: 20, perConnectionClaim: 10 })
    const values = Array.from({ length: 500 }, () => ({
      tenant_id: big.tenantId, company_id: big.companyId, connection_id: big.connectionId, entity_type: 'project' as const,
      local_id: id('project'), operation: 'upsert' as const, payload: JSON.stringify(projectPayload()),
    }))
    await t.db.insertInto('align_sync_outbox').values(values).execute()
    const p = id('project')
    await enqueue(t.db, small, 'project', p, projectPayload())
    await worker.runOnce()
    expect((await rowsOf(t.db, p))[0]!.status).toBe('done')
    await t.db.deleteFrom('align_sync_outbox').where('connection_id', '=', big.connectionId).where('status', '=', 'pending').execute()
  })

  it('retention deletes only done rows older than the configured age, in batches', async () => {
    const c = await connect(t.db, sandbox)
    const { worker } = makeWorker(t.db, sandbox, { retentionMs: 24 * 3_600_000, retentionBatch: 7 })
    const old = new Date(Date.now() - 2 * 24 * 3_600_000)
    const base = { tenant_id: c.tenantId, company_id: c.companyId, connection_id: c.connectionId, entity_type: 'project' as const, operation: 'upsert' as const, payload: null }
    await t.db.insertInto('align_sync_outbox').values([
      ...Array.from({ length: 20 }, () => ({ ...base, local_id: id('old-done'), status: 'done' as const, created_at: old })),
      { ...base, local_id: id('old-failed'), status: 'failed' as const, created_at: old },
      { ...base, local_id: id('recent-done'), status: 'done' as const },
    ]).execute()
    const before = await t.db.selectFrom('align_sync_outbox').select((eb) => eb.fn.countAll<string>().as('n')).where('connection_id', '=', c.connectionId).executeTakeFirstOrThrow()
    const deleted = await worker.runRetention()
    expect(deleted).toBeGreaterThanOrEqual(20)
    const left = await t.db.selectFrom('align_sync_outbox').select(['local_id', 'status']).where('connection_id', '=', c.connectionId).execute()
    expect(left).toHaveLength(Number(before.n) - 20)
    expect(left.some((r) => r.local_id.startsWith('old-done'))).toBe(false)
    expect(left.some((r) => r.local_id.startsWith('old-failed'))).toBe(true)
    expect(left.some((r) => r.local_id.startsWith('recent-done'))).toBe(true)
  })
})
