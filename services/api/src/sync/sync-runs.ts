// Bulk sync runs: the initial sync on connect, an on-demand backfill, a resync after a mapping change. A run
// records how many outbox rows it wrote and tags them with its id; its progress is counted from those rows
// whenever someone looks (connection status, admin dashboard), so the worker needs to know nothing of runs.
import type { AlignSyncRun, Database, SyncRunKind } from '@illumera/db-schema'
import { Type } from '@sinclair/typebox'
import type { Kysely } from 'kysely'
import { Timestamp } from '../http/schemas.js'
import { countRunRowsByStatus, findSyncRunsOf, insertSyncRun, tagOutboxRowsWithRun } from './sync-runs.queries.js'

export const SyncRunView = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('initial_sync'), Type.Literal('backfill'), Type.Literal('resync')]),
  startedAt: Timestamp,
  /** Outbox rows the run wrote. */
  total: Type.Integer(),
  /** Delivered to Align. */
  done: Type.Integer(),
  /** Dead-lettered (see the admin outbox; they can be retried). */
  failed: Type.Integer(),
  /** Still queued or in flight (waiting for a dependency included). */
  pending: Type.Integer(),
  /** Nothing pending any more. */
  completed: Type.Boolean(),
})

export const SyncProgressFields = {
  /** The backfill run when the connection was made; null when it was skipped. */
  initialSync: Type.Union([SyncRunView, Type.Null()]),
  /** The most recent run of any kind (initial sync, backfill, resync). */
  latestSyncRun: Type.Union([SyncRunView, Type.Null()]),
}

export interface RunOwner {
  tenantId: string
  companyId: string
  connectionId: string
}

/** Records a run over the outbox rows just written in this transaction. */
export async function recordSyncRun(trx: Kysely<Database>, owner: RunOwner, kind: SyncRunKind, requestedBy: string | null, rowIds: string[]): Promise<AlignSyncRun> {
  const run = await insertSyncRun(trx, {
    connection_id: owner.connectionId, tenant_id: owner.tenantId, company_id: owner.companyId, kind, total: rowIds.length, requested_by: requestedBy,
  })
  await tagOutboxRowsWithRun(trx, run.id, rowIds)
  return run
}

function toSyncRunView(run: AlignSyncRun, counts: { pending?: number; processing?: number; failed?: number }) {
  const pending = (counts.pending ?? 0) + (counts.processing ?? 0)
  const failed = counts.failed ?? 0
  return {
    id: run.id, kind: run.kind, startedAt: run.started_at.toISOString(), total: run.total,
    done: Math.max(0, run.total - pending - failed), failed, pending, completed: pending === 0,
  }
}

export type SyncProgress = { initialSync: ReturnType<typeof toSyncRunView> | null; latestSyncRun: ReturnType<typeof toSyncRunView> | null }

/** One run's progress now. */
export async function loadSyncRunView(db: Kysely<Database>, run: AlignSyncRun) {
  return toSyncRunView(run, (await countRunRowsByStatus(db, [run.id])).get(run.id) ?? {})
}

/** initialSync and latestSyncRun of each connection. */
export async function loadSyncProgress(db: Kysely<Database>, connectionIds: string[]): Promise<Map<string, SyncProgress>> {
  const runs = await findSyncRunsOf(db, connectionIds)
  const runIds = [...new Set([...runs.values()].flatMap((r) => [r.initial?.id, r.latest?.id]).filter((id): id is string => id !== undefined))]
  const counts = await countRunRowsByStatus(db, runIds)
  const view = (run: AlignSyncRun | undefined) => (run ? toSyncRunView(run, counts.get(run.id) ?? {}) : null)
  return new Map(connectionIds.map((id) => [id, { initialSync: view(runs.get(id)?.initial), latestSyncRun: view(runs.get(id)?.latest) }]))
}
