// Shared setup of the sync-worker benches: a fresh migrated database, sandbox organisations with a
// project, a user and a membership already linked on our side, outbox rows written in bulk, and workers.
import { randomBytes, randomUUID } from 'node:crypto'
import { Worker } from 'node:worker_threads'
import { AlignGateway, type AlignResponseInfo } from '@illumera/align-gateway'
import type { AlignSandbox, SandboxControl } from '@illumera/align-sandbox'
import { createDb, type Database, migrateToLatest, type OutboxWrite } from '@illumera/db-schema'
import { startLocalPostgres } from '@illumera/local-postgres'
import { createLogger, encryptConnectionSecret, type Logger, SecretBox } from '@illumera/service-kit'
import { createGatewayFactory, createSyncWorker, createWorkerDb, type SyncWorkerOptions } from '@illumera/sync-worker'
import { type Kysely, sql } from 'kysely'

export const box = new SecretBox(randomBytes(32).toString('hex'))

export async function createBenchDatabase(tag: string): Promise<{ url: string; drop(): Promise<void> }> {
  const local = process.env.DATABASE_URL ? null : await startLocalPostgres()
  const adminUrl = process.env.DATABASE_URL ?? local!.url
  const name = `bench_${tag}_${randomBytes(4).toString('hex')}`
  const admin = createDb(adminUrl, { max: 1 })
  await sql.raw(`create database ${name}`).execute(admin)
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  const db = createDb(url.toString(), { max: 2 })
  await migrateToLatest(db)
  await db.destroy()
  return {
    url: url.toString(),
    async drop() {
      await sql.raw(`drop database if exists ${name} with (force)`).execute(admin)
      await admin.destroy()
      await local?.stop()
    },
  }
}

/** What the benches use of a sandbox: in this process (startAlignSandbox) or on its own thread (startSandboxThread). */
export interface BenchSandbox {
  apiBaseUrl: string
  control: Pick<SandboxControl, 'createOrg'>
  close(): Promise<void>
}

/**
 * Starts a bench script on a worker thread of its own (its own event loop). It is ready with its first message;
 * `close()` posts 'close' and waits for the thread to exit.
 */
async function startBenchThread<Ready>(script: string, workerData: unknown): Promise<{ thread: Worker; ready: Ready; close(): Promise<void> }> {
  const thread = new Worker(new URL(script, import.meta.url), { workerData })
  const ready = await new Promise<Ready>((resolve, reject) => {
    thread.once('message', resolve)
    thread.once('error', reject)
  })
  return {
    thread,
    ready,
    async close() {
      const exited = new Promise((resolve) => thread.once('exit', resolve))
      thread.postMessage('close')
      await exited
    },
  }
}

/** The sandbox on a worker thread (its own event loop, as a remote Align), reached over HTTP. */
export async function startSandboxThread(rateLimitPerMinute: number): Promise<BenchSandbox> {
  const { ready: { url, apiBaseUrl }, close } = await startBenchThread<{ url: string; apiBaseUrl: string }>('./sync-worker-sandbox-thread.js', { rateLimitPerMinute })
  return {
    apiBaseUrl,
    control: {
      async createOrg() {
        const response = await fetch(`${url}/_sandbox/orgs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
        if (response.status !== 201) throw new Error(`sandbox thread: POST /_sandbox/orgs answered ${response.status}`)
        return (await response.json()) as { organizationId: string; apiKey: string }
      },
    },
    close,
  }
}

/** Commits outbox rows (each in its own transaction with its NOTIFY, as the api does) from a thread of its own. */
export interface WriterThread {
  /** One row at a time: the next write waits for this one's reply. */
  write(row: OutboxWrite): Promise<void>
  close(): Promise<void>
}

/** A writer on a worker thread: its round trips do not wait on this process's event loop (the worker under test). */
export async function startWriterThread(url: string): Promise<WriterThread> {
  const { thread, close } = await startBenchThread<'ready'>('./sync-worker-writer-thread.js', { url })
  return {
    write(row) {
      return new Promise((resolve, reject) => {
        thread.once('message', (reply: { ok: boolean; error?: string }) => (reply.ok ? resolve() : reject(new Error(`writer thread: ${reply.error}`))))
        thread.postMessage(row)
      })
    },
    close,
  }
}

export interface BenchConnection {
  tenantId: string
  companyId: string
  connectionId: string
  organizationId: string
  localProjectId: string
  localUserId: string
  /** The project's id in Align (its time entries are created under /projects/:id/time-entries). */
  alignProjectId: string
}

/** A tenant, company and active connection to a new sandbox org, with a project, user and membership on both sides. */
export async function setupConnection(db: Kysely<Database>, sandbox: AlignSandbox | BenchSandbox, n: number): Promise<BenchConnection> {
  const tenantId = `bench-tenant-${n}-${randomUUID().slice(0, 8)}`
  const companyId = `bench-company-${n}-${randomUUID().slice(0, 8)}`
  await db.insertInto('tenants').values({ id: tenantId, name: `Bench ${n}` }).execute()
  await db.insertInto('company_profiles').values({ id: companyId, tenant_id: tenantId, name: `Bench Co ${n}` }).execute()
  const { organizationId, apiKey } = await sandbox.control.createOrg()
  const connectionId = randomUUID()
  await db.insertInto('align_connections').values({
    id: connectionId, tenant_id: tenantId, company_id: companyId,
    encrypted_api_key: encryptConnectionSecret(box, connectionId, 'encrypted_api_key', apiKey), key_last_four: apiKey.slice(-4),
    align_org_id: organizationId, align_key_scope: 'organization',
  }).execute()
  const align = new AlignGateway({ apiKey, baseUrl: sandbox.apiBaseUrl })
  const localProjectId = `project-${randomUUID()}`
  const localUserId = `user-${randomUUID()}`
  const project = await align.createProject({ name: `Bench ${n}`, timeBillingEnabled: true, externalRef: { externalType: 'project', externalId: localProjectId } }, { idempotencyKey: localProjectId })
  const user = await align.inviteUser({ email: `bench${n}-${randomUUID().slice(0, 6)}@example.com`, name: `Bench ${n}`, role: 'developer', sendInvite: false, externalRef: { externalType: 'user', externalId: localUserId } }, { idempotencyKey: localUserId })
  const engagementId = `engagement-${randomUUID()}`
  await align.addProjectMember(project.id, user.userId, { roleOverride: 'developer', externalRef: { externalType: 'project_member', externalId: engagementId } }, { idempotencyKey: engagementId })
  await db.insertInto('align_entity_links').values([
    { tenant_id: tenantId, company_id: companyId, provider: 'illumera', external_type: 'project', external_id: localProjectId, align_entity_type: 'project', align_entity_id: project.id },
    { tenant_id: tenantId, company_id: companyId, provider: 'illumera', external_type: 'user', external_id: localUserId, align_entity_type: 'user', align_entity_id: user.userId },
    { tenant_id: tenantId, company_id: companyId, provider: 'illumera', external_type: 'project_member', external_id: engagementId, align_entity_type: 'project_member', align_entity_id: `${project.id}:${user.userId}` },
  ]).execute()
  return { tenantId, companyId, connectionId, organizationId, localProjectId, localUserId, alignProjectId: project.id }
}

export function entryPayload(c: BenchConnection) {
  return { localProjectId: c.localProjectId, localUserId: c.localUserId, workDate: '2026-11-02', minutes: 60, notes: 'bench', timeBillingEnabled: true, isAdjustment: false, adjustsEntryId: null }
}

/** `count` pending time_entry rows for the connection, in one statement; returns their local ids' prefix. */
export async function seedTimeEntryRows(db: Kysely<Database>, c: BenchConnection, count: number): Promise<string> {
  const prefix = `te-${randomUUID().slice(0, 8)}`
  await sql`
    insert into align_sync_outbox (tenant_id, company_id, connection_id, entity_type, local_id, operation, payload)
    select ${c.tenantId}, ${c.companyId}, ${c.connectionId}, 'time_entry', ${prefix} || '-' || n, 'upsert', ${JSON.stringify(entryPayload(c))}::jsonb
      from generate_series(1, ${count}::int) n`.execute(db)
  await sql`analyze align_sync_outbox`.execute(db)
  return prefix
}

export const silentLogger = (): Logger => createLogger({ level: 'warn', destination: { write: () => true } as never })

export function makeWorker(
  url: string, sandbox: AlignSandbox | BenchSandbox, options: Partial<SyncWorkerOptions>, extra: { poolSize?: number; onResponse?: (info: AlignResponseInfo) => void } = {},
) {
  const db = createWorkerDb(url, silentLogger(), { max: extra.poolSize ?? 25, name: 'bench-sync-worker' })
  const worker = createSyncWorker({
    db, logger: silentLogger(), databaseUrl: url,
    gatewayFor: createGatewayFactory({ box, baseUrl: sandbox.apiBaseUrl, onResponse: extra.onResponse }),
    options,
  })
  return { db, worker, async close() { await worker.stop(); await db.destroy() } }
}

export async function waitUntil(check: () => Promise<boolean>, limitMs: number, what: string, everyMs = 50): Promise<void> {
  for (const deadline = Date.now() + limitMs; Date.now() < deadline;) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
  throw new Error(`bench: timed out after ${limitMs} ms waiting for ${what}`)
}

export async function countRows(db: Kysely<Database>, connectionId: string, status: string): Promise<number> {
  const row = await sql<{ n: number }>`select count(*)::int as n from align_sync_outbox where connection_id = ${connectionId} and status = ${status}::align_sync_status`.execute(db)
  return row.rows[0]!.n
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
