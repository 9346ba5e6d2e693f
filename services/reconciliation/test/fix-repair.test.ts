// --fix end to end: Align loses entities (a manager deletes them there, or an integration link is dropped),
// reconciliation --fix finds them and re-enqueues upserts, a real sync-worker process (services/sync-worker's
// src/main.ts, as deployed, started the way its own tests start it) drains the outbox, and the next
// reconciliation agrees. Align is counted by externalRef afterwards: never a duplicate.
import { type ChildProcess, spawn } from 'node:child_process'
import path from 'node:path'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { type AlignSandbox, startAlignSandbox } from '@illumera/align-sandbox'
import { type ExternalType, insertOutboxRow } from '@illumera/db-schema'
import { createEngagement, createProject, createTalent, createTimeEntry, tsSourceLoaderUrl, until, useTestDatabase } from '@illumera/test-harness'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildEntityUpsert } from '../src/fix.js'
import { main } from '../src/main.js'
import { listConnections } from '../src/reconcile.queries.js'
import { connect, ENCRYPTION_KEY, type TestConnection } from './helpers/setup.js'

const t = useTestDatabase()
let sandbox: AlignSandbox
let worker: { child: ChildProcess; output: string[]; exited: Promise<unknown> }

const here = path.dirname(fileURLToPath(import.meta.url))
const syncWorkerMain = path.join(here, '..', '..', 'sync-worker', 'src', 'main.ts')

beforeAll(async () => {
  sandbox = await startAlignSandbox({ port: 0, rateLimitPerMinute: 0 })
  const child = spawn(process.execPath, ['--conditions=@illumera/source', '--import', tsSourceLoaderUrl, syncWorkerMain], {
    env: {
      PATH: process.env.PATH ?? '', DATABASE_URL: t.url, ALIGN_ENCRYPTION_KEY: ENCRYPTION_KEY, ALIGN_BASE_URL: sandbox.apiBaseUrl,
      ALIGN_RATE_LIMIT_PER_MINUTE: '0', PORT: '0', LOG_LEVEL: 'info', SYNC_POLL_INTERVAL_MS: '100', SYNC_DEPENDENCY_RECHECK_MS: '200',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output: string[] = []
  child.stdout!.on('data', (chunk) => output.push(String(chunk)))
  child.stderr!.on('data', (chunk) => output.push(String(chunk)))
  worker = { child, output, exited: new Promise((resolve) => child.on('exit', resolve)) }
})

afterAll(async () => {
  if (worker.child.exitCode === null && worker.child.signalCode === null) {
    worker.child.kill('SIGTERM')
    const stopped = await Promise.race([worker.exited.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 10_000))])
    if (!stopped) worker.child.kill('SIGKILL')
    await worker.exited
  }
  if (process.env.SHOW_CHILD_OUTPUT) console.log(worker.output.join('').slice(-5000))
  await sandbox.close()
})

const workerOutput = () => `worker output:\n${worker.output.join('').slice(-3000)}`

/** Waits until the worker has no pending or processing row of the connection; none may be dead-lettered. */
async function drained(connectionId: string): Promise<void> {
  const open = async () => (await t.db.selectFrom('align_sync_outbox').select('id').where('connection_id', '=', connectionId)
    .where('status', 'in', ['pending', 'processing']).execute()).length
  await until(async () => (await open()) === 0, 'the sync worker to drain the outbox', { limitMs: 60_000, detail: workerOutput })
  const failed = await t.db.selectFrom('align_sync_outbox').select(['entity_type', 'local_id', 'error']).where('connection_id', '=', connectionId)
    .where('status', '=', 'failed').execute()
  expect(failed).toEqual([])
}

/** Writes the upserts the api would write for these entities and lets the worker sync them. */
async function syncThroughWorker(conn: TestConnection, entities: Array<[ExternalType, string]>): Promise<void> {
  const [connection] = await listConnections(t.db, conn.connectionId)
  await t.db.transaction().execute(async (trx) => {
    for (const [type, id] of entities) await insertOutboxRow(trx, (await buildEntityUpsert(trx, connection!, type, id))!)
  })
  await drained(conn.connectionId)
}

/** A project with an open slot (its staffing wiki page), a talent engaged on it and a draft entry of theirs. */
async function staffedProject(conn: TestConnection) {
  const project = await createProject(t.db, { tenantId: conn.tenantId, companyId: conn.companyId })
  await t.db.insertInto('project_slots').values({ tenant_id: conn.tenantId, project_id: project.id, role_title: 'Data Engineer', openings: 2, hourly_rate_cents: 12_500 }).execute()
  const { user, person } = await createTalent(t.db, conn.tenantId)
  const engagement = await createEngagement(t.db, project, person.id, { status: 'accepted' })
  const entry = await createTimeEntry(t.db, engagement, { minutes: 90 })
  const entities: Array<[ExternalType, string]> = [['project', project.id], ['wiki_page', project.id], ['user', user.id], ['project_member', engagement.id], ['time_entry', entry.id]]
  return { projectId: project.id, userId: user.id, engagementId: engagement.id, entryId: entry.id, entities }
}

function env() {
  return { DATABASE_URL: t.url, ALIGN_ENCRYPTION_KEY: ENCRYPTION_KEY, ALIGN_BASE_URL: sandbox.apiBaseUrl, ALIGN_RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'info' }
}

interface ConnectionSummaryLog {
  discrepancies: Record<string, number>
  fixes: { enqueued: number; alreadyQueued: number; entityGone: number; outboundOff: number }
  projectsNotFoundInAlign: number
}

/** One reconciliation of the connection through the entry point: its exit code and its connection summary. */
async function reconcileMain(connectionId: string, ...flags: string[]): Promise<{ code: number; connection: ConnectionSummaryLog }> {
  const log: string[] = []
  const logDestination = new Writable({ write(chunk, _e, done) { log.push(String(chunk)); done() } })
  const code = await main(['--connection', connectionId, ...flags], env(), { out: () => {}, err: (line) => log.push(line), logDestination })
  const finished = log.map((l) => JSON.parse(l) as { msg?: string; summary?: { connections: ConnectionSummaryLog[] } }).find((l) => l.msg === 'reconciliation finished')
  if (!finished?.summary) throw new Error(`no summary in the log:\n${log.join('')}`)
  return { code, connection: finished.summary.connections[0]! }
}

async function localLink(type: ExternalType, id: string): Promise<string | undefined> {
  const row = await t.db.selectFrom('align_entity_links').select('align_entity_id').where('external_type', '=', type).where('external_id', '=', id).executeTakeFirst()
  return row?.align_entity_id
}

/** Every entity of the org that carries an Illumera externalRef, as `<type>:<externalId>` → Align ids. */
async function alignByExternalRef(organizationId: string): Promise<Map<string, string[]>> {
  const state = await sandbox.control.state(organizationId)
  const byRef = new Map<string, string[]>()
  const entities = [...state.projects, ...state.users, ...state.members, ...state.timeEntries, ...state.wikiPages]
  for (const entity of entities) {
    if (!entity.externalRef) continue
    const refKey = `${entity.externalRef.externalType}:${entity.externalRef.externalId}`
    byRef.set(refKey, [...(byRef.get(refKey) ?? []), entity.id])
  }
  return byRef
}

describe('--fix repairs what Align lost, through a real sync worker', () => {
  it('a project, a user, a time entry, a membership and a wiki page deleted in Align are re-created once; the next run agrees', async () => {
    const conn = await connect(t.db, sandbox)
    const bareProject = await createProject(t.db, { tenantId: conn.tenantId, companyId: conn.companyId })
    const { user: bareUser } = await createTalent(t.db, conn.tenantId)
    const entryGone = await staffedProject(conn)
    const memberGone = await staffedProject(conn)
    const pageGone = await staffedProject(conn)
    await syncThroughWorker(conn, [
      ['project', bareProject.id], ['user', bareUser.id], ...entryGone.entities, ...memberGone.entities, ...pageGone.entities,
    ])
    expect((await reconcileMain(conn.connectionId)).code).toBe(0)

    const before = {
      project: (await localLink('project', bareProject.id))!, user: (await localLink('user', bareUser.id))!,
      entry: (await localLink('time_entry', entryGone.entryId))!, page: (await localLink('wiki_page', pageGone.projectId))!,
      member: (await localLink('project_member', memberGone.engagementId))!,
    }
    // A manager deletes each in Align; no webhook reaches Illumera (none is subscribed), as when one is lost.
    await sandbox.control.deleteProject(before.project)
    await sandbox.control.deleteUser(before.user)
    await sandbox.control.delete(before.entry)
    await sandbox.control.deleteWikiPage(before.page)
    const [memberProject, memberUser] = before.member.split(':') as [string, string]
    await conn.seed.removeProjectMember(memberProject, memberUser)

    const found = await reconcileMain(conn.connectionId, '--fix')
    expect(found.code).toBe(1)
    expect(found.connection.discrepancies).toEqual({
      'entity_link.project': 1, 'entity_link.user': 1, 'entity_link.time_entry': 1, 'entity_link.project_member': 1, 'entity_link.wiki_page': 1,
    })
    expect(found.connection.fixes).toEqual({ enqueued: 5, alreadyQueued: 0, entityGone: 0, outboundOff: 0 })
    expect(found.connection.projectsNotFoundInAlign).toBe(1)

    await drained(conn.connectionId)
    const repaired = await reconcileMain(conn.connectionId)
    expect(repaired.code).toBe(0)
    expect(repaired.connection.discrepancies).toEqual({})

    // Exactly one Align entity per externalRef, and each local link names it (a new one where it was deleted).
    const byRef = await alignByExternalRef(conn.organizationId)
    expect([...byRef].filter(([, ids]) => ids.length !== 1)).toEqual([])
    expect(byRef.size).toBe(2 + 3 * 5)
    for (const [type, id, old] of [
      ['project', bareProject.id, before.project], ['user', bareUser.id, before.user], ['time_entry', entryGone.entryId, before.entry],
      ['wiki_page', pageGone.projectId, before.page],
    ] as Array<[ExternalType, string, string]>) {
      const [alignId] = byRef.get(`${type}:${id}`)!
      expect(await localLink(type, id), type).toBe(alignId)
      expect(alignId, type).not.toBe(old)
    }
    // A membership's link is "<alignProjectId>:<alignUserId>": the same pair, a new member in Align.
    expect(byRef.get(`project_member:${memberGone.engagementId}`)).toHaveLength(1)
    expect(await localLink('project_member', memberGone.engagementId)).toBe(before.member)
    const state = await sandbox.control.state(conn.organizationId)
    expect(state.timeEntries.find((e) => e.externalRef?.externalId === entryGone.entryId)).toMatchObject({ minutes: 90, status: 'draft', projectId: (await localLink('project', entryGone.projectId))! })

    // Repaired, a --fix finds nothing to enqueue.
    const again = await reconcileMain(conn.connectionId, '--fix')
    expect(again.code).toBe(0)
    expect(again.connection.fixes).toEqual({ enqueued: 0, alreadyQueued: 0, entityGone: 0, outboundOff: 0 })
  }, 180_000)

  it('an integration link dropped while its entity stays: the entity is updated, never duplicated, and the finding stays', async () => {
    const conn = await connect(t.db, sandbox)
    const staffed = await staffedProject(conn)
    await syncThroughWorker(conn, staffed.entities)
    const entryAlignId = (await localLink('time_entry', staffed.entryId))!
    const projectAlignId = (await localLink('project', staffed.projectId))!
    const state = await sandbox.control.state(conn.organizationId)
    for (const entityId of [entryAlignId, projectAlignId]) {
      await sandbox.control.removeIntegrationLink(state.integrationLinks.find((l) => l.entityId === entityId)!.id)
    }
    await t.db.updateTable('time_entries').set({ minutes: 75 }).where('id', '=', staffed.entryId).execute()

    const found = await reconcileMain(conn.connectionId, '--fix')
    expect(found.code).toBe(1)
    expect(found.connection.discrepancies).toEqual({ 'entity_link.project': 1, 'entity_link.time_entry': 1 })
    expect(found.connection.fixes).toEqual({ enqueued: 2, alreadyQueued: 0, entityGone: 0, outboundOff: 0 })
    await drained(conn.connectionId)

    // Align's API sets an externalRef only when an entity is created, so nothing can attach it again:
    // the entities are updated in place (the new minutes arrive) and the links stay reported.
    const after = await sandbox.control.state(conn.organizationId)
    expect(after.projects.map((p) => p.id)).toEqual([projectAlignId])
    expect(after.timeEntries.map((e) => [e.id, e.minutes])).toEqual([[entryAlignId, 75]])
    expect(await localLink('time_entry', staffed.entryId)).toBe(entryAlignId)
    expect(await localLink('project', staffed.projectId)).toBe(projectAlignId)
    const still = await reconcileMain(conn.connectionId)
    expect(still.code).toBe(1)
    expect(still.connection.discrepancies).toEqual({ 'entity_link.project': 1, 'entity_link.time_entry': 1 })
  }, 120_000)
})
