// The ingest's database pool, as main.ts makes it (the bench makes it the same way).
import type { Database } from '@illumera/db-schema'
import { createPreparingServiceDb } from '@illumera/service-kit'
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'

/**
 * A pool that prepares the time status events' statement once per connection (parsed once), planned on every
 * call with the statistics of the moment (force_custom_plan): align_webhook_deliveries grows from empty, and a
 * generic plan made while it was small would keep a sequential scan for the replay check until the next ANALYZE.
 */
export function createIngestDb(url: string, logger: Logger, options: { max: number; name?: string }): Kysely<Database> {
  return createPreparingServiceDb(url, logger, { name: options.name ?? 'webhook-ingest', max: options.max, planCacheMode: 'force_custom_plan' })
}
