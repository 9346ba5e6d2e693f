// Resync: after a field mapping changed, re-enqueue an upsert of every linked entity that carries a mapped
// field, so the Align records made earlier take the new mapping (the worker applies mappings when it builds
// each call). Users (role), project members (role override), draft time entries (description, billable) and
// staffing wiki pages (title); projects carry no mapped field. Rows go in dependency order, as one sync run.
// A membership removed in Align while its engagement is still accepted here is added again (as --fix does).
// Idempotent: Align updates are plain PATCHes of the same values, and an entity whose upsert is still queued
// is not queued twice.
import { type AlignSyncRun, type Database, insertOutboxRow, type OutboxWrite } from '@illumera/db-schema'
import type { Kysely } from 'kysely'
import { listProjectSlots } from '../projects/projects.queries.js'
import { timeEntryPayload, userPayload, wikiPagePayload } from './enqueue.js'
import { findResyncMembers, findResyncTimeEntries, findResyncUsers, findResyncWikiProjects, type SyncScope } from './sync-candidates.queries.js'
import { recordSyncRun } from './sync-runs.js'
import { markTimeEntrySyncPending } from './sync.queries.js'

export interface ResyncCounts {
  users: number
  members: number
  timeEntries: number
  wikiPages: number
}

/** The caller holds the connection row locked (FOR UPDATE), so two resyncs never interleave. */
export async function runResync(trx: Kysely<Database>, scope: SyncScope, requestedBy: string | null): Promise<{ counts: ResyncCounts; run: AlignSyncRun }> {
  const base = { tenantId: scope.tenantId, companyId: scope.companyId, connectionId: scope.connectionId, operation: 'upsert' as const }
  const counts: ResyncCounts = { users: 0, members: 0, timeEntries: 0, wikiPages: 0 }
  const rowIds: string[] = []
  const insertRow = async (write: OutboxWrite) => { rowIds.push(await insertOutboxRow(trx, write)) }

  for (const user of await findResyncUsers(trx, scope)) {
    await insertRow({ ...base, entityType: 'user', localId: user.id, payload: userPayload(user) })
    counts.users++
  }
  for (const member of await findResyncMembers(trx, scope)) {
    // A linked membership's upsert makes no Align call unless marked as reconciliation --fix marks it
    // (sync-worker recreate-missing.ts): Align sets a member's role override only through "add member", which
    // also re-adds one removed there while its engagement is still accepted here.
    const payload = { localProjectId: member.project_id, localUserId: member.user_id, recreateIfMissing: true }
    await insertRow({ ...base, entityType: 'project_member', localId: member.id, payload })
    counts.members++
  }
  for (const entry of await findResyncTimeEntries(trx, scope)) {
    await insertRow({
      ...base, entityType: 'time_entry', localId: entry.id,
      payload: timeEntryPayload(entry, { userId: entry.user_id, timeBillingEnabled: entry.time_billing_enabled }),
    })
    await markTimeEntrySyncPending(trx, entry.id)
    counts.timeEntries++
  }
  for (const project of await findResyncWikiProjects(trx, scope)) {
    await insertRow({ ...base, entityType: 'wiki_page', localId: project.id, payload: wikiPagePayload(project, await listProjectSlots(trx, project.id)) })
    counts.wikiPages++
  }
  return { counts, run: await recordSyncRun(trx, scope, 'resync', requestedBy, rowIds) }
}
