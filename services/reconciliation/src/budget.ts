// The reconciliation's side of the shared Align budget. Every Align call this job makes first takes one
// grant from the same Postgres-kept, per-connection budget the sync-worker uses (@illumera/align-rate-budget),
// and a 429 pauses the connection for every process (align_connections.paused_until).
import { msUntilGrant, pauseConnection, takeAlignBudget } from '@illumera/align-rate-budget'
import type { Database } from '@illumera/db-schema'
import type { Kysely } from 'kysely'
import type { Clock } from './clock.js'

export interface ReconcileBudget {
  /** Waits until this connection may make one more Align call, and takes that grant. */
  take(connectionId: string): Promise<void>
  /** No process calls Align with this connection's key before `until` (Align said 429). */
  pause(connectionId: string, until: Date): Promise<void>
}

export class BudgetWaitError extends Error {
  override name = 'BudgetWaitError'
}

export interface SharedBudgetOptions {
  /** Align's limit per key and minute; 0 turns pacing off (pauses still hold). */
  limitPerMinute: number
  /** Give up after this many waits for one grant (a connection paused for hours is not waited out). */
  maxWaits?: number
  /** Give up when one wait would be longer than this (default 15 minutes). */
  maxWaitMs?: number
}

/** How far ahead a grant may be reserved: enough for the job's few concurrent callers at the paced spacing. */
const RESERVE_WITHIN_MS = 2_000

export function createSharedBudget(db: Kysely<Database>, clock: Clock, options: SharedBudgetOptions): ReconcileBudget {
  const maxWaits = options.maxWaits ?? 10_000
  const maxWaitMs = options.maxWaitMs ?? 15 * 60_000
  return {
    async take(connectionId) {
      for (let wait = 0; wait <= maxWaits; wait++) {
        // A grant a little ahead is reserved and waited for in place: each of the job's concurrent callers holds
        // its own moment, instead of all of them waking at the same one and all but one being denied again.
        const decision = await takeAlignBudget(db, connectionId, clock.now(), { limitPerMinute: options.limitPerMinute, reserveWithinMs: RESERVE_WITHIN_MS })
        if (decision.granted) {
          const wait = msUntilGrant(decision, clock.now())
          if (wait > 0) await clock.sleep(wait)
          return
        }
        const ms = Math.max(1, decision.retryAt.getTime() - clock.now().getTime())
        if (ms > maxWaitMs) throw new BudgetWaitError(`connection ${connectionId} is ${decision.reason === 'paused' ? 'paused' : 'out of budget'} for ${Math.ceil(ms / 1000)} s more`)
        await clock.sleep(ms)
      }
      throw new BudgetWaitError(`connection ${connectionId}: no Align budget after ${maxWaits} waits`)
    },
    pause: (connectionId, until) => pauseConnection(db, connectionId, until),
  }
}
