// time.approved / rejected / locked / invoiced / unlocked / deleted, applied through the time entry
// state machine of @illumera/db-schema.
//
// DESIGN: a late or out-of-order event never moves an entry backwards. A status event applies when
// the move is legal (canTransitionTimeEntry), or when it jumps forward over states whose events are
// still on their way (time.invoiced reaching a submitted entry before time.approved and time.locked).
// Jumps never start from draft or rejected: there, an approval would be a stale one from before an
// unlock or a rejection.
import {
  canTransitionTimeEntry, type Database, TIME_ENTRY_STATUS_RANK, TIME_ENTRY_TRANSITIONS, type TimeEntry, type TimeEntryStatus,
} from '@illumera/db-schema'
import type { Transaction } from 'kysely'
import { applied, type EventData, type EventResult, externalRefOf, isIllumeraRef, noted, skipped, stringField } from './event-result.js'
import { type DeferredEntryUpdate, lockLinkedTimeEntry, lockTimeEntryById, type Scope, updateTimeEntry } from './events.queries.js'

export const TIME_STATUS_EVENTS = {
  'time.approved': 'approved',
  'time.rejected': 'rejected',
  'time.locked': 'locked',
  'time.invoiced': 'invoiced',
} as const satisfies Record<string, TimeEntryStatus>

const JUMP_START: readonly TimeEntryStatus[] = ['submitted', 'approved', 'locked']

/** Whether `to` is reachable from `from` by moves that each raise the rank. */
function reachableForward(from: TimeEntryStatus, to: TimeEntryStatus): boolean {
  const rank = TIME_ENTRY_STATUS_RANK
  for (const next of TIME_ENTRY_TRANSITIONS[from]) {
    if (rank[next] <= rank[from]) continue
    if (next === to || reachableForward(next, to)) return true
  }
  return false
}

/** Whether a status event for `to` applies to an entry in `from`. */
export function statusEventApplies(from: TimeEntryStatus, to: TimeEntryStatus): boolean {
  if (canTransitionTimeEntry(from, to)) return true
  return JUMP_START.includes(from) && reachableForward(from, to)
}

/** The statuses from which a status event for `target` applies: the state machine enumerated (for SQL). */
export function statusesWhereEventApplies(target: TimeEntryStatus): TimeEntryStatus[] {
  return (Object.keys(TIME_ENTRY_TRANSITIONS) as TimeEntryStatus[]).filter((from) => from !== target && statusEventApplies(from, target))
}

/**
 * What a status event does to an entry in this state: apply, or skip with the reason. Shared by the
 * handler and by the one-statement path (whose SQL applies exactly when `statusesWhereEventApplies`
 * holds and the entry is not deleted).
 */
export function decideTimeStatusEvent(
  entry: Pick<TimeEntry, 'id' | 'status' | 'deleted_at'>,
  event: keyof typeof TIME_STATUS_EVENTS,
): { apply: true; result: EventResult } | { apply: false; result: EventResult } {
  const target = TIME_STATUS_EVENTS[event]
  if (entry.deleted_at) return { apply: false, result: skipped(`time entry ${entry.id} is deleted`) }
  if (entry.status === target) return { apply: false, result: skipped(`time entry ${entry.id} is already ${target}`) }
  if (!statusEventApplies(entry.status, target)) return { apply: false, result: skipped(`time entry ${entry.id} is ${entry.status}: ${event} would not move it forward`) }
  return { apply: true, result: applied() }
}

/** data.reason (or data.rejectionReason) of a time.rejected event. */
export function rejectionReasonOf(data: EventData): string | null {
  return stringField(data, 'reason') ?? stringField(data, 'rejectionReason') ?? null
}

/** The linked entry (or, before the worker wrote the link, the entry our externalRef names), locked. */
async function lockEntryFor(trx: Transaction<Database>, scope: Scope, data: EventData): Promise<TimeEntry | undefined> {
  const alignId = stringField(data, 'id')
  if (alignId) {
    const linked = await lockLinkedTimeEntry(trx, scope, alignId)
    if (linked) return linked
  }
  const ref = externalRefOf(data)
  if (isIllumeraRef(ref, 'time_entry')) return lockTimeEntryById(trx, scope, ref.externalId)
  return undefined
}

function notLinked(data: EventData): EventResult {
  const alignId = stringField(data, 'id')
  return noted(alignId ? `Align time entry ${alignId} is not linked to an Illumera time entry` : 'data.id is missing: no time entry to update')
}

export async function handleTimeStatusEvent(trx: Transaction<Database>, scope: Scope, event: keyof typeof TIME_STATUS_EVENTS, data: EventData, deferred?: DeferredEntryUpdate): Promise<EventResult> {
  const target = TIME_STATUS_EVENTS[event]
  const entry = await lockEntryFor(trx, scope, data)
  if (!entry) return notLinked(data)
  const decision = decideTimeStatusEvent(entry, event)
  if (!decision.apply) return decision.result
  const rejectionReason = target === 'rejected' ? rejectionReasonOf(data) : undefined
  await updateTimeEntry(trx, entry.id, {
    status: target,
    sync_status: 'synced',
    sync_error: null,
    ...(rejectionReason !== undefined ? { rejection_reason: rejectionReason } : {}),
  }, deferred)
  return applied()
}

/** time.unlocked: approved or locked → draft, to be edited and re-sent (sync_status pending). */
export async function handleTimeUnlocked(trx: Transaction<Database>, scope: Scope, data: EventData, deferred?: DeferredEntryUpdate): Promise<EventResult> {
  const entry = await lockEntryFor(trx, scope, data)
  if (!entry) return notLinked(data)
  if (entry.deleted_at) return skipped(`time entry ${entry.id} is deleted`)
  if (entry.status !== 'approved' && entry.status !== 'locked') return skipped(`time entry ${entry.id} is ${entry.status}: only approved or locked entries unlock`)
  await updateTimeEntry(trx, entry.id, { status: 'draft', sync_status: 'pending', sync_error: null }, deferred)
  return applied()
}

/** time.deleted: soft-deletes draft or submitted entries only; later states are billing records. */
export async function handleTimeDeleted(trx: Transaction<Database>, scope: Scope, data: EventData, now: Date, deferred?: DeferredEntryUpdate): Promise<EventResult> {
  const entry = await lockEntryFor(trx, scope, data)
  if (!entry) return notLinked(data)
  if (entry.deleted_at) return skipped(`time entry ${entry.id} is already deleted`)
  if (entry.status !== 'draft' && entry.status !== 'submitted') return skipped(`time entry ${entry.id} is ${entry.status}: only draft or submitted entries are deleted`)
  await updateTimeEntry(trx, entry.id, { deleted_at: now }, deferred)
  return applied()
}
