// How many of the worker's slots one connection may hold. Alone, a connection may use all but a tenth of them
// (another tenant's first row always finds one free). While another connection is active too (it had a unit
// queued, in flight or finished within the last `activeWindowMs`) and the event loop is saturated (a sample of
// priority-gate.ts within that window), a connection holds at most `shared`: a quarter of the slots, rounded up.
// A saturated loop means the worker is CPU-bound (no rate limit: its loop, Postgres and Align share the cores):
// a backlog's extra units in flight then add queueing, not throughput, and every step of the other tenant's row
// (its claim, lookups, call and finish) waits behind all of them; with a quarter in flight those queues stay
// short. On an idle loop the units in flight are waiting on Align (a slow answer, a paced grant): there more
// units are throughput, so nothing changes.
export interface SlotShareOptions {
  concurrency: number
  /** A connection with nothing in hand still counts as active this long after its last unit (ms). */
  activeWindowMs: number
}

export interface SlotShare {
  /** Slots one connection may hold while it is the only active one. */
  readonly alone: number
  /** Slots one connection may hold while another connection is active too. */
  readonly shared: number
  /** A unit of this connection was queued, dispatched or finished at `nowMs`. */
  touch(connectionId: string, nowMs: number): void
  /**
   * The slots a connection may hold at `nowMs`; `inHand` says whether a connection has units queued or in flight,
   * `busy` whether the event loop was saturated lately (only then do more units add queueing rather than throughput).
   */
  limit(connectionId: string, nowMs: number, inHand: (connectionId: string) => boolean, busy: boolean): number
}

export function createSlotShare(options: SlotShareOptions): SlotShare {
  const alone = Math.max(1, options.concurrency - Math.ceil(options.concurrency / 10))
  const shared = Math.min(alone, Math.max(1, Math.ceil(options.concurrency / 4)))
  const lastSeen = new Map<string, number>()
  return {
    alone,
    shared,
    touch(connectionId, nowMs) {
      lastSeen.set(connectionId, nowMs)
    },
    limit(connectionId, nowMs, inHand, busy) {
      for (const [id, at] of lastSeen) {
        if (id === connectionId) continue
        if (inHand(id) || nowMs - at <= options.activeWindowMs) return busy ? shared : alone
        lastSeen.delete(id) // quiet for longer than the window: forgotten (keeps the map to the active connections)
      }
      return alone
    },
  }
}
