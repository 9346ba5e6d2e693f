// The time entry state machine, shared by the api (Illumera-side moves) and webhook-ingest (moves Align
// reports). One table of legal moves, so both sides agree on what "backwards" means.
//
//   draft ──submit──▶ submitted ──approve──▶ approved ──lock──▶ locked ──invoice──▶ invoiced
//     ▲                   │                     │                 │
//     │                   └──reject──▶ rejected │                 │
//     ├──── edit ─────────────────────────┘     │                 │
//     └──── unlock ─────────────────────────────┴─────────────────┘
import type { TimeEntryStatus } from './tables/time-entries.js'

export const TIME_ENTRY_TRANSITIONS: Readonly<Record<TimeEntryStatus, readonly TimeEntryStatus[]>> = {
  draft: ['submitted'],
  submitted: ['approved', 'rejected'],
  approved: ['locked', 'draft'],
  rejected: ['draft'],
  locked: ['invoiced', 'draft'],
  invoiced: [],
}

/** How far along the lifecycle a status is; a late event never moves an entry to a lower rank (except unlock). */
export const TIME_ENTRY_STATUS_RANK: Readonly<Record<TimeEntryStatus, number>> = {
  draft: 0,
  submitted: 1,
  approved: 2,
  rejected: 2,
  locked: 3,
  invoiced: 4,
}

export function canTransitionTimeEntry(from: TimeEntryStatus, to: TimeEntryStatus): boolean {
  return TIME_ENTRY_TRANSITIONS[from].includes(to)
}

/** Statuses in which an entry's minutes and notes may still change in Illumera. */
export const EDITABLE_TIME_ENTRY_STATUSES: readonly TimeEntryStatus[] = ['draft', 'rejected']
