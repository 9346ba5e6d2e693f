import type { AlignSyncRun, Database, NewAlignSyncRun, OutboxStatus } from '@illumera/db-schema'
import type { Kysely } from 'kysely'

export function insertSyncRun(trx: Kysely<Database>, values: NewAlignSyncRun): Promise<AlignSyncRun> {
  return trx.insertInto('align_sync_runs').values(values).returningAll().executeTakeFirstOrThrow()
}

/** Tags the run's outbox rows (written moments ago in the same transaction) with its id. */
export async function tagOutboxRowsWithRun(trx: Kysely<Database>, runId: string, rowIds: string[]): Promise<void> {
  if (rowIds.length === 0) return
  await trx.updateTable('align_sync_outbox').set({ sync_run_id: runId }).where('id', '=', (eb) => eb.fn.any(eb.val(rowIds))).execute()
}

/** Each connection's initial sync and its most recent run of any kind. */
export async function findSyncRunsOf(db: Kysely<Database>, connectionIds: string[]): Promise<Map<string, { initial?: AlignSyncRun; latest?: AlignSyncRun }>> {
  const result = new Map<string, { initial?: AlignSyncRun; latest?: AlignSyncRun }>()
  if (connectionIds.length === 0) return result
  const [initial, latest] = await Promise.all([
    db.selectFrom('align_sync_runs').selectAll().where('connection_id', 'in', connectionIds).where('kind', '=', 'initial_sync').execute(),
    db.selectFrom('align_sync_runs').selectAll().distinctOn('connection_id').where('connection_id', 'in', connectionIds)
      .orderBy('connection_id').orderBy('started_at', 'desc').orderBy('id', 'desc').execute(),
  ])
  for (const run of initial) result.set(run.connection_id, { ...result.get(run.connection_id), initial: run })
  for (const run of latest) result.set(run.connection_id, { ...result.get(run.connection_id), latest: run })
  return result
}

/** Outbox rows of each run by status (done rows may already be gone: retention deletes them). */
export async function countRunRowsByStatus(db: Kysely<Database>, runIds: string[]): Promise<Map<string, Partial<Record<OutboxStatus, number>>>> {
  const result = new Map<string, Partial<Record<OutboxStatus, number>>>()
  if (runIds.length === 0) return result
  const rows = await db.selectFrom('align_sync_outbox')
    .select(['sync_run_id', 'status', (eb) => eb.fn.countAll<string>().as('count')])
    .where('sync_run_id', 'in', runIds)
    .groupBy(['sync_run_id', 'status'])
    .execute()
  for (const row of rows) {
    const counts = result.get(row.sync_run_id!) ?? {}
    counts[row.status] = Number(row.count)
    result.set(row.sync_run_id!, counts)
  }
  return result
}
