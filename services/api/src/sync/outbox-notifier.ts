// Wake-ups for the sync worker from the api's hot write path (creating a time entry). That path commits the
// entry and its outbox row without NOTIFY and queues the connection id here; one NOTIFY per few
// milliseconds goes out after the commits, so concurrent creates do not queue on PostgreSQL's notify lock
// (see service-kit notifier.ts). The payload is the connection id, as insertOutboxRow's.
// A wake-up lost to a crash between commit and send (or a failed send) delays the row until the worker's
// next poll (SYNC_POLL_INTERVAL_MS, 2 s by default); the row itself is committed with its entry either way.
import { type Database, OUTBOX_NOTIFY_CHANNEL } from '@illumera/db-schema'
import { type CoalescingNotifier, createCoalescingNotifier, type Logger } from '@illumera/service-kit'
import type { Kysely } from 'kysely'

export type OutboxNotifier = CoalescingNotifier

/** At most one wake-up statement per this long per api process. */
export const OUTBOX_NOTIFY_INTERVAL_MS = 5

export function createOutboxNotifier(db: Kysely<Database>, logger: Logger): OutboxNotifier {
  return createCoalescingNotifier({ db, channel: OUTBOX_NOTIFY_CHANNEL, intervalMs: OUTBOX_NOTIFY_INTERVAL_MS, logger: logger.child({ component: 'outbox-notify' }) })
}
