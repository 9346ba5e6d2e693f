// Runs pruneDeliveries on an interval (main.ts starts it). Deliveries matter for deduplication only
// while Align still retries (minutes) and for replay detection within its window (a day); the rest is audit.
import type { Database } from '@illumera/db-schema'
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import { pruneDeliveries } from './deliveries.queries.js'

export interface PruneScheduleOptions {
  retentionDays: number
  intervalMs: number
  batchSize: number
  now?: () => Date
}

/** Prunes once now, then every intervalMs; returns a stop function that awaits a run in progress. */
export function startDeliveryPruning(db: Kysely<Database>, logger: Logger, options: PruneScheduleOptions): () => Promise<void> {
  const log = logger.child({ component: 'delivery-pruning' })
  const now = options.now ?? (() => new Date())
  let running: Promise<void> = Promise.resolve()
  const run = () => {
    running = (async () => {
      const started = performance.now()
      const olderThan = new Date(now().getTime() - options.retentionDays * 24 * 60 * 60 * 1000)
      try {
        const deleted = await pruneDeliveries(db, olderThan, options.batchSize)
        log.info({ deleted, olderThan: olderThan.toISOString(), durationMs: Math.round(performance.now() - started) }, 'pruned align webhook deliveries')
      } catch (err) {
        log.error({ error: err instanceof Error ? err.message : 'unknown' }, 'pruning align webhook deliveries failed')
      }
    })()
  }
  run()
  const timer = setInterval(run, options.intervalMs)
  timer.unref()
  return async () => {
    clearInterval(timer)
    await running
  }
}
