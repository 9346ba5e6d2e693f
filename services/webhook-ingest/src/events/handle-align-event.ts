// Dispatches a verified delivery to its handler, inside the delivery's transaction. Events of the
// catalog without a handler (and unknown ones) are recorded and answered 200. The connection's sync direction
// gates only the import of entries logged in Align; status changes of the entries we pushed always apply.
import { type Database, importsFromAlign, type SyncDirection } from '@illumera/db-schema'
import type { Transaction } from 'kysely'
import { handleProjectMemberEvent, handleWikiPageCreated } from './entity-link-events.js'
import { type EventData, type EventResult, externalRefOf, noted } from './event-result.js'
import type { DeferredEntryUpdate, Scope } from './events.queries.js'
import { importAlignTimeEntry } from './time-entry-import.js'
import { handleTimeDeleted, handleTimeStatusEvent, handleTimeUnlocked, TIME_STATUS_EVENTS } from './time-entry-events.js'

/** The delivery's connection: its tenant and company, and its sync direction. */
export type EventScope = Scope & { syncDirection: SyncDirection }

export async function handleAlignEvent(trx: Transaction<Database>, scope: EventScope, event: string, data: EventData, now: Date, deferred?: DeferredEntryUpdate): Promise<EventResult> {
  switch (event) {
    case 'time.approved':
    case 'time.rejected':
    case 'time.locked':
    case 'time.invoiced':
      return handleTimeStatusEvent(trx, scope, event satisfies keyof typeof TIME_STATUS_EVENTS, data, deferred)
    case 'time.unlocked':
      return handleTimeUnlocked(trx, scope, data, deferred)
    case 'time.deleted':
      return handleTimeDeleted(trx, scope, data, now, deferred)
    case 'time.logged':
      // Inbound off: an entry logged directly in Align is recorded (the delivery) but not imported. Echoes of
      // our own entries go to the importer, which skips them whatever the direction.
      if (!importsFromAlign(scope.syncDirection) && externalRefOf(data)?.provider !== 'illumera') {
        return noted(`not imported: the connection's sync direction is ${scope.syncDirection} (entries logged in Align are not imported)`)
      }
      return importAlignTimeEntry(trx, scope, data)
    case 'project_member.added':
    case 'project_member.updated':
      return handleProjectMemberEvent(trx, scope, data)
    case 'wiki_page.created':
      return handleWikiPageCreated(trx, scope, data)
    default:
      return { effect: 'unhandled', note: null, reason: 'no handler for this event' }
  }
}
