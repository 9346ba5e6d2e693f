// Backfill: enqueue the company's history that Align does not know yet. DESIGN: the reference lists
// "history not backfilled" as a limitation. Rows go in dependency order (projects, users, members, time
// entries, submits, wiki pages) in the caller's transaction, for the connection given. Run on connect (the
// initial sync) and on demand, each as a sync run whose progress the connection status shows.
import { type AlignSyncRun, insertOutboxRow, type Database, type OutboxWrite, type SyncRunKind } from '@illumera/db-schema'
import type { Kysely } from 'kysely'
import { listProjectSlots } from '../projects/projects.queries.js'
import {
  type SyncScope, findUnsyncedMembers, findUnsyncedProjects, findUnsyncedTimeEntries, findUnsyncedUsers, findUnsyncedWikiProjects,
} from './sync-candidates.queries.js'
import { projectPayload, timeEntryPayload, userPayload, wikiPagePayload } from './enqueue.js'
import { recordSyncRun } from './sync-runs.js'
import { markTimeEntrySyncPending } from './sync.queries.js'

export interface BackfillCounts {
  projects: number
  users: number
  members: number
  timeEntries: number
  submits: number
  wikiPages: number
}

/**
 * Enqueues the backfill and records it as a sync run of `kind` over the rows written.
 * The caller holds the connection row locked (FOR UPDATE), so two backfills never interleave.
 */
export async function runBackfill(
  trx: Kysely<Database>, scope: SyncScope, kind: Extract<SyncRunKind, 'initial_sync' | 'backfill'>, requestedBy: string | null,
): Promise<{ counts: BackfillCounts; run: AlignSyncRun }> {
  const { counts, rowIds } = await enqueueBackfill(trx, scope)
  return { counts, run: await recordSyncRun(trx, scope, kind, requestedBy, rowIds) }
}

async function enqueueBackfill(trx: Kysely<Database>, scope: SyncScope): Promise<{ counts: BackfillCounts; rowIds: string[] }> {
  const base = { tenantId: scope.tenantId, companyId: scope.companyId, connectionId: scope.connectionId }
  const counts: BackfillCounts = { projects: 0, users: 0, members: 0, timeEntries: 0, submits: 0, wikiPages: 0 }
  const rowIds: string[] = []
  const insertRow = async (write: OutboxWrite) => { rowIds.push(await insertOutboxRow(trx, write)) }

  for (const project of await findUnsyncedProjects(trx, scope)) {
    await insertRow({ ...base, entityType: 'project', localId: project.id, operation: 'upsert', payload: projectPayload(project) })
    counts.projects++
  }
  for (const user of await findUnsyncedUsers(trx, scope)) {
    await insertRow({ ...base, entityType: 'user', localId: user.id, operation: 'upsert', payload: userPayload(user) })
    counts.users++
  }
  for (const member of await findUnsyncedMembers(trx, scope)) {
    await insertRow({
      ...base, entityType: 'project_member', localId: member.id, operation: 'upsert',
      payload: { localProjectId: member.project_id, localUserId: member.user_id },
    })
    counts.members++
  }
  for (const entry of await findUnsyncedTimeEntries(trx, scope)) {
    await insertRow({
      ...base, entityType: 'time_entry', localId: entry.id, operation: 'upsert',
      payload: timeEntryPayload(entry, { userId: entry.user_id, timeBillingEnabled: entry.time_billing_enabled }),
    })
    counts.timeEntries++
    // Align creates entries as drafts; one already submitted here is submitted there too. Later
    // statuses (approved, …) are decided in Align and are not replayed.
    if (entry.status === 'submitted') {
      await insertRow({ ...base, entityType: 'time_entry_submit', localId: entry.id, operation: 'upsert', payload: {} })
      counts.submits++
    }
    await markTimeEntrySyncPending(trx, entry.id)
  }
  for (const project of await findUnsyncedWikiProjects(trx, scope)) {
    await insertRow({
      ...base, entityType: 'wiki_page', localId: project.id, operation: 'upsert', payload: wikiPagePayload(project, await listProjectSlots(trx, project.id)),
    })
    counts.wikiPages++
  }
  return { counts, rowIds }
}
