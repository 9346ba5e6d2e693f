// Sync triggers: one function per row of the reference's Sync Triggers table (plus unlock). Each runs in
// the caller's transaction, looks up the company's active connection there, and writes nothing when there
// is none or its sync direction is align_to_illumera (outbound off); otherwise it writes one outbox row
// (+ NOTIFY, delivered on commit) with a typed payload.
// Callers write rows in dependency order (user before project_member, …); the worker keeps that order.
import { insertOutboxRow, type Database, type Engagement, type OutboxPayloads, type Project, type ProjectSlot, type TimeEntry, type User } from '@illumera/db-schema'
import type { Kysely } from 'kysely'
import { findOutboundConnection, markTimeEntrySyncPending } from './sync.queries.js'

interface Owner {
  tenant_id: string
  company_id: string
}

export function projectPayload(project: Project): OutboxPayloads['project'] {
  return { name: project.name, description: project.description, timeBillingEnabled: project.time_billing_enabled }
}

export function wikiPagePayload(project: Project, slots: ProjectSlot[]): OutboxPayloads['wiki_page'] {
  return {
    localProjectId: project.id,
    projectName: project.name,
    slots: slots.map((s) => ({ roleTitle: s.role_title, openings: s.openings, hourlyRateCents: s.hourly_rate_cents, notes: s.notes })),
  }
}

export function userPayload(user: User): OutboxPayloads['user'] {
  return { email: user.email, name: user.name, role: user.role }
}

export interface TimeEntryContext {
  /** users.id of the person who logged the entry. */
  userId: string
  timeBillingEnabled: boolean
}

export function timeEntryPayload(entry: TimeEntry, context: TimeEntryContext): OutboxPayloads['time_entry'] {
  return {
    localProjectId: entry.project_id,
    localUserId: context.userId,
    workDate: entry.work_date,
    minutes: entry.minutes,
    notes: entry.notes,
    timeBillingEnabled: context.timeBillingEnabled,
    isAdjustment: entry.is_adjustment,
    adjustsEntryId: entry.adjusts_entry_id,
  }
}

/** Project created or updated → project upsert. */
export async function enqueueProjectUpsert(trx: Kysely<Database>, project: Project): Promise<boolean> {
  const connection = await findOutboundConnection(trx, project.tenant_id, project.company_id)
  if (!connection) return false
  await insertOutboxRow(trx, {
    tenantId: project.tenant_id, companyId: project.company_id, connectionId: connection.id,
    entityType: 'project', localId: project.id, operation: 'upsert', payload: projectPayload(project),
  })
  return true
}

/** Project activated → staffing wiki page upsert from its open slots (local id = project id). */
export async function enqueueWikiPageUpsert(trx: Kysely<Database>, project: Project, slots: ProjectSlot[]): Promise<boolean> {
  const connection = await findOutboundConnection(trx, project.tenant_id, project.company_id)
  if (!connection) return false
  await insertOutboxRow(trx, {
    tenantId: project.tenant_id, companyId: project.company_id, connectionId: connection.id,
    entityType: 'wiki_page', localId: project.id, operation: 'upsert', payload: wikiPagePayload(project, slots),
  })
  return true
}

/** Engagement accepted, or profile of an engaged user updated → user upsert (for that company's connection). */
export async function enqueueUserUpsert(trx: Kysely<Database>, owner: Owner, user: User): Promise<boolean> {
  const connection = await findOutboundConnection(trx, owner.tenant_id, owner.company_id)
  if (!connection) return false
  await insertOutboxRow(trx, {
    tenantId: owner.tenant_id, companyId: owner.company_id, connectionId: connection.id,
    entityType: 'user', localId: user.id, operation: 'upsert', payload: userPayload(user),
  })
  return true
}

/** Engagement accepted → project member upsert (local id = engagement id). Enqueue the user first. */
export async function enqueueProjectMemberUpsert(trx: Kysely<Database>, engagement: Engagement, userId: string): Promise<boolean> {
  const connection = await findOutboundConnection(trx, engagement.tenant_id, engagement.company_id)
  if (!connection) return false
  await insertOutboxRow(trx, {
    tenantId: engagement.tenant_id, companyId: engagement.company_id, connectionId: connection.id,
    entityType: 'project_member', localId: engagement.id, operation: 'upsert',
    payload: { localProjectId: engagement.project_id, localUserId: userId },
  })
  return true
}

/** Engagement ended → project member delete. */
export async function enqueueProjectMemberDelete(trx: Kysely<Database>, engagement: Engagement): Promise<boolean> {
  const connection = await findOutboundConnection(trx, engagement.tenant_id, engagement.company_id)
  if (!connection) return false
  await insertOutboxRow(trx, {
    tenantId: engagement.tenant_id, companyId: engagement.company_id, connectionId: connection.id,
    entityType: 'project_member', localId: engagement.id, operation: 'delete', payload: null,
  })
  return true
}

/** Time entry created or updated → time_entry upsert; the entry's sync_status becomes pending. */
export async function enqueueTimeEntryUpsert(trx: Kysely<Database>, entry: TimeEntry, context: TimeEntryContext): Promise<boolean> {
  const connection = await findOutboundConnection(trx, entry.tenant_id, entry.company_id)
  if (!connection) return false
  await insertOutboxRow(trx, {
    tenantId: entry.tenant_id, companyId: entry.company_id, connectionId: connection.id,
    entityType: 'time_entry', localId: entry.id, operation: 'upsert', payload: timeEntryPayload(entry, context),
  })
  if (entry.sync_status !== 'pending') await markTimeEntrySyncPending(trx, entry.id)
  return true
}

/** Draft time entry deleted (soft) → time_entry delete. */
export async function enqueueTimeEntryDelete(trx: Kysely<Database>, entry: TimeEntry): Promise<boolean> {
  return enqueueTimeEntryAction(trx, entry, 'time_entry', 'delete')
}

/** Time entry submitted → time_entry_submit upsert (local id = entry id). */
export async function enqueueTimeEntrySubmit(trx: Kysely<Database>, entry: TimeEntry): Promise<boolean> {
  return enqueueTimeEntryAction(trx, entry, 'time_entry_submit', 'upsert')
}

/** Time entry unlocked by a company admin → time_entry_unlock upsert. DESIGN: beyond the reference. */
export async function enqueueTimeEntryUnlock(trx: Kysely<Database>, entry: TimeEntry): Promise<boolean> {
  return enqueueTimeEntryAction(trx, entry, 'time_entry_unlock', 'upsert')
}

async function enqueueTimeEntryAction(
  trx: Kysely<Database>,
  entry: TimeEntry,
  entityType: 'time_entry' | 'time_entry_submit' | 'time_entry_unlock',
  operation: 'upsert' | 'delete',
): Promise<boolean> {
  const connection = await findOutboundConnection(trx, entry.tenant_id, entry.company_id)
  if (!connection) return false
  const base = { tenantId: entry.tenant_id, companyId: entry.company_id, connectionId: connection.id, localId: entry.id }
  if (entityType === 'time_entry') await insertOutboxRow(trx, { ...base, entityType, operation, payload: null })
  else await insertOutboxRow(trx, { ...base, entityType, operation, payload: {} })
  if (entry.sync_status !== 'pending') await markTimeEntrySyncPending(trx, entry.id)
  return true
}
