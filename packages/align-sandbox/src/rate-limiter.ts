// Sliding-window rate limit per API key: each key keeps the times of the requests it was allowed
// in the last 60 s (a queue with a moving head); a request is allowed while fewer than `limit`
// remain in the window. Refused requests are not recorded, so a client that backs off recovers.

const WINDOW_MS = 60_000

export interface RateLimitDecision {
  allowed: boolean
  limit: number
  remaining: number
  /** Unix seconds when the oldest request in the window leaves it. */
  resetAt: number
  /** Whole seconds (≥ 1) until a request would be allowed; only when refused. */
  retryAfter: number
}

class Window {
  times: number[] = []
  head = 0

  prune(now: number): void {
    const cutoff = now - WINDOW_MS
    while (this.head < this.times.length && this.times[this.head]! <= cutoff) this.head++
    if (this.head > 256 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head)
      this.head = 0
    }
  }

  get count(): number {
    return this.times.length - this.head
  }
}

export class SlidingWindowRateLimiter {
  private readonly windows = new Map<string, Window>()

  /** Records the request when allowed. `now` is in milliseconds. */
  take(key: string, limit: number, now: number): RateLimitDecision {
    let window = this.windows.get(key)
    if (!window) this.windows.set(key, (window = new Window()))
    window.prune(now)
    if (window.count >= limit) {
      // The request is allowed again once all but limit - 1 of the recorded ones have left.
      const freeing = window.times[window.head + window.count - limit]!
      return {
        allowed: false,
        limit,
        remaining: 0,
        resetAt: Math.ceil((window.times[window.head]! + WINDOW_MS) / 1000),
        retryAfter: Math.max(1, Math.ceil((freeing + WINDOW_MS - now) / 1000)),
      }
    }
    window.times.push(now)
    return {
      allowed: true,
      limit,
      remaining: limit - window.count,
      resetAt: Math.ceil((window.times[window.head]! + WINDOW_MS) / 1000),
      retryAfter: 0,
    }
  }

  clear(): void {
    this.windows.clear()
  }
}
