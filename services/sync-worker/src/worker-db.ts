// The worker's database pool, as main.ts makes it (the benches make it the same way).
import type { Database } from '@illumera/db-schema'
import { createPreparingServiceDb } from '@illumera/service-kit'
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'

/**
 * A pool that prepares the queue's hot statements (claim, finish, wake, link lookups) once per connection
 * (parsed once) and plans them on every call with the statistics of the moment (force_custom_plan). The
 * outbox swings from empty to a backfill's 100k rows between two ANALYZEs: a generic plan made while it was
 * small kept a claim at ~3 s per call on 300k pending rows, where a custom plan takes ~2 ms.
 */
export function createWorkerDb(url: string, logger: Logger, options: { max: number; name?: string }): Kysely<Database> {
  return createPreparingServiceDb(url, logger, { name: options.name ?? 'sync-worker', max: options.max, planCacheMode: 'force_custom_plan' })
}
