// One Align call as the reconciliation makes it: take a grant from the shared budget, call, and
// - on 429: pause the connection for Retry-After (every process sees it), then take a new grant and repeat;
// - on a 5xx or a network failure: retry a few times with backoff (each attempt takes a grant);
// - anything else (401, 404, …) goes to the caller.
// The gateway itself is built with maxRetries 0, so each HTTP attempt here is one grant and one counted call.
import { AlignConnectionError, AlignRateLimitError, AlignServerError } from '@illumera/align-gateway'
import type { ReconcileBudget } from './budget.js'
import type { Clock } from './clock.js'

export interface CallStats {
  /** HTTP attempts made (each took one grant). */
  calls: number
  /** Attempts Align answered 429. */
  rateLimited: number
}

export interface AlignCallContext {
  connectionId: string
  budget: ReconcileBudget
  clock: Clock
  stats: CallStats
  /** Retries after a 5xx or network failure (default 2). */
  serverRetries: number
  /** First backoff delay after a 5xx (doubles per retry). */
  retryDelayMs: number
  /** 429s in a row on one call before giving up (a bounded loop). */
  maxRateLimited: number
}

export async function callAlign<T>(ctx: AlignCallContext, call: () => Promise<T>): Promise<T> {
  let serverFailures = 0
  let rateLimited = 0
  for (;;) {
    await ctx.budget.take(ctx.connectionId)
    ctx.stats.calls++
    try {
      return await call()
    } catch (err) {
      if (err instanceof AlignRateLimitError) {
        ctx.stats.rateLimited++
        if (++rateLimited > ctx.maxRateLimited) throw err
        await ctx.budget.pause(ctx.connectionId, new Date(ctx.clock.now().getTime() + err.retryAfterMs))
        continue
      }
      if ((err instanceof AlignServerError || err instanceof AlignConnectionError) && serverFailures < ctx.serverRetries) {
        await ctx.clock.sleep(ctx.retryDelayMs * 2 ** serverFailures)
        serverFailures++
        continue
      }
      throw err
    }
  }
}
