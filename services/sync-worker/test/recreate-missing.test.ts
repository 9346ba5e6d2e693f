// Upserts marked `recreateIfMissing` (what reconciliation --fix enqueues) re-create what Align lost; the same
// upserts without the marker keep the documented behaviour (a vanished time entry is a dead letter, a written
// membership link makes no call). Never a duplicate in Align, also when an answer is lost on the way back.
import { randomUUID } from 'node:crypto'
import { AlignGateway } from '@illumera/align-gateway'
import { type AlignSandbox, startAlignSandbox } from '@illumera/align-sandbox'
import { useTestDatabase } from '@illumera/test-harness'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  alignCalls, connect, drain, enqueue, entryPayload, FAST_RETRIES, id, later, linkOf, makeWorker, projectPayload, rowsOf, type TestConnection, userPayload,
} from './helpers/setup.js'

const t = useTestDatabase()
let sandbox: AlignSandbox

beforeAll(async () => { sandbox = await startAlignSandbox({ port: 0, rateLimitPerMinute: 0 }) })
afterAll(async () => { await sandbox.close() })
afterEach(async () => { await sandbox.control.clearFaults() })

/** As reconciliation --fix writes it: the api's snapshot plus the marker. */
function marked<T extends object>(payload: T): T {
  return { ...payload, recreateIfMissing: true }
}

/** A project, a user and their membership, synced; and a time entry of theirs, synced. */
async function staffedWithEntry(c: TestConnection, worker: ReturnType<typeof makeWorker>['worker']) {
  const projectId = id('project')
  const userId = id('user')
  const engagementId = id('engagement')
  const entryId = id('entry')
  await enqueue(t.db, c, 'project', projectId, projectPayload())
  await enqueue(t.db, c, 'user', userId, userPayload(randomUUID().slice(0, 8)))
  await enqueue(t.db, c, 'project_member', engagementId, { localProjectId: projectId, localUserId: userId })
  await enqueue(t.db, c, 'time_entry', entryId, entryPayload(projectId, userId, 90))
  await drain(worker)
  return { projectId, userId, engagementId, entryId }
}

async function entriesCarrying(c: TestConnection, entryId: string) {
  return (await sandbox.control.state(c.organizationId)).timeEntries.filter((e) => e.externalRef?.externalId === entryId)
}

describe('a time entry deleted in Align', () => {
  it('an ordinary upsert is a dead letter; the one from --fix re-creates it once, even when its first answer is lost', async () => {
    const c = await connect(t.db, sandbox)
    const { worker } = makeWorker(t.db, sandbox)
    const { projectId, userId, entryId } = await staffedWithEntry(c, worker)
    const deletedId = (await linkOf(t.db, 'time_entry', entryId))!.align_entity_id
    await sandbox.control.delete(deletedId)

    await enqueue(t.db, c, 'time_entry', entryId, entryPayload(projectId, userId, 95))
    await drain(worker)
    const [, ordinary] = await rowsOf(t.db, entryId)
    expect(ordinary).toMatchObject({ status: 'failed' })
    expect(ordinary!.error).toMatch(/404/)
    expect(await entriesCarrying(c, entryId)).toEqual([])

    // The re-create commits in Align, but its answer never arrives, and the row ends as a dead letter (its
    // retries spent). The next --fix row, under a key of its own, finds the entry by externalRef and adopts it.
    await enqueue(t.db, c, 'time_entry', entryId, marked(entryPayload(projectId, userId, 100)))
    await sandbox.control.setFaults({ dropAfterCommitRate: 1 })
    await worker.runOnce()
    expect((await rowsOf(t.db, entryId))[2]).toMatchObject({ status: 'pending', attempts: 1 })
    expect(await entriesCarrying(c, entryId)).toHaveLength(1)
    await sandbox.control.clearFaults()
    await t.db.updateTable('align_sync_outbox').set({ status: 'failed' }).where('id', '=', (await rowsOf(t.db, entryId))[2]!.id).execute()
    await enqueue(t.db, c, 'time_entry', entryId, marked(entryPayload(projectId, userId, 105)))
    await drain(worker)

    const [recreated, ...more] = await entriesCarrying(c, entryId)
    expect(more).toEqual([])
    expect(recreated).toMatchObject({ minutes: 105, status: 'draft' })
    expect(recreated!.id).not.toBe(deletedId)
    expect((await linkOf(t.db, 'time_entry', entryId))!.align_entity_id).toBe(recreated!.id)
    expect((await rowsOf(t.db, entryId)).map((r) => r.status)).toEqual(['done', 'failed', 'failed', 'done'])
  })

  it('a --fix upsert whose first answer is lost is retried under the same key: one entry', async () => {
    const c = await connect(t.db, sandbox)
    const { worker } = makeWorker(t.db, sandbox)
    const { projectId, userId, entryId } = await staffedWithEntry(c, worker)
    await sandbox.control.delete((await linkOf(t.db, 'time_entry', entryId))!.align_entity_id)
    await enqueue(t.db, c, 'time_entry', entryId, marked(entryPayload(projectId, userId, 100)))
    const now = new Date()
    await sandbox.control.setFaults({ dropAfterCommitRate: 1 })
    await worker.runOnce(now)
    await sandbox.control.clearFaults()
    await drain(worker, later(now, FAST_RETRIES[0]!))
    const entries = await entriesCarrying(c, entryId)
    expect(entries.map((e) => e.minutes)).toEqual([100])
    expect((await linkOf(t.db, 'time_entry', entryId))!.align_entity_id).toBe(entries[0]!.id)
    expect((await rowsOf(t.db, entryId)).map((r) => r.status)).toEqual(['done', 'done'])
  })

  it('a --fix upsert of an entry Align still has is a plain update', async () => {
    const c = await connect(t.db, sandbox)
    const { worker, metrics } = makeWorker(t.db, sandbox)
    const { projectId, userId, entryId } = await staffedWithEntry(c, worker)
    await enqueue(t.db, c, 'time_entry', entryId, marked(entryPayload(projectId, userId, 45)))
    await drain(worker)
    expect((await entriesCarrying(c, entryId)).map((e) => e.minutes)).toEqual([45])
    expect(await alignCalls(metrics, 'createTimeEntry')).toBe(1)
    expect(await alignCalls(metrics, 'findIntegrationLink')).toBe(0)
  })
})

describe('a membership removed in Align', () => {
  it('an ordinary upsert makes no call; the one from --fix adds it again, once', async () => {
    const c = await connect(t.db, sandbox)
    const { worker, metrics } = makeWorker(t.db, sandbox)
    const { engagementId } = await staffedWithEntry(c, worker)
    const memberLink = (await linkOf(t.db, 'project_member', engagementId))!.align_entity_id
    const [alignProjectId, alignUserId] = memberLink.split(':') as [string, string]
    const manager = new AlignGateway({ apiKey: c.apiKey, baseUrl: sandbox.apiBaseUrl, maxRetries: 0 })
    await manager.removeProjectMember(alignProjectId, alignUserId)
    const payload = (await rowsOf(t.db, engagementId))[0]!.payload as { localProjectId: string; localUserId: string }

    await enqueue(t.db, c, 'project_member', engagementId, payload)
    await drain(worker)
    expect(await alignCalls(metrics, 'addProjectMember')).toBe(1)
    expect((await sandbox.control.state(c.organizationId)).members).toEqual([])

    await enqueue(t.db, c, 'project_member', engagementId, marked(payload))
    await enqueue(t.db, c, 'project_member', engagementId, marked(payload))
    await drain(worker)
    const members = (await sandbox.control.state(c.organizationId)).members
    expect(members.map((m) => [m.projectId, m.userId, m.externalRef?.externalId])).toEqual([[alignProjectId, alignUserId, engagementId]])
    expect((await linkOf(t.db, 'project_member', engagementId))!.align_entity_id).toBe(memberLink)
    expect((await rowsOf(t.db, engagementId)).every((r) => r.status === 'done')).toBe(true)
  })
})
