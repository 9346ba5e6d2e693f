// Priority for a tenant's single row on a saturated event loop. Its few steps (the claim its NOTIFY triggers,
// then its lookups, its Align call and its finish) each wait for the event loop to come round; behind another
// tenant's backlog that is a full round of the backlog's work every time. While such a step is in flight and
// the loop is busy, the backlog's units hold their next step (at most `holdMs`): the single row goes through an
// almost idle loop, the backlog loses a few milliseconds. When the loop is not busy nothing waits on anything.
import { performance } from 'node:perf_hooks'

export interface PriorityGateOptions {
  /** The longest a held step waits. */
  holdMs: number
  /** Event-loop utilisation (0–1) over the last `sampleMs` from which the loop counts as busy. */
  busyUtilization: number
  sampleMs: number
  /** Overrides the sampled busy flag (tests). */
  isBusy?: () => boolean
}

export interface PriorityGate {
  /** A step with priority began (a claim for connections with nothing in hand, or such a connection's unit). */
  enter(): void
  /** That step ended: held steps go on once none is left. */
  leave(): void
  /** For a step without priority: a promise to await while a priority step is in flight on a busy loop, else undefined. */
  hold(): Promise<void> | undefined
  /** Whether a sample within the last `ms` found the loop busy (slot-share.ts: a backlog's share of the slots). */
  busyWithin(ms: number): boolean
  /** Starts sampling event-loop utilisation. */
  start(): void
  stop(): void
}

export function createPriorityGate(options: PriorityGateOptions): PriorityGate {
  let inFlight = 0
  const held = new Set<() => void>()
  let busy = false
  let lastBusyAt = -Infinity
  let sampler: NodeJS.Timeout | null = null
  const isBusy = options.isBusy ?? (() => busy)

  function release(): void {
    const waiting = [...held]
    held.clear()
    for (const go of waiting) go()
  }

  return {
    enter() {
      inFlight++
    },
    leave() {
      if (inFlight > 0 && --inFlight === 0) release()
    },
    hold() {
      if (inFlight === 0 || !isBusy()) return undefined
      return new Promise((resolve) => {
        const go = () => {
          clearTimeout(timer)
          held.delete(go)
          resolve()
        }
        const timer = setTimeout(go, options.holdMs)
        held.add(go)
      })
    },
    busyWithin(ms) {
      if (options.isBusy) return options.isBusy()
      return busy || performance.now() - lastBusyAt <= ms
    },
    start() {
      if (sampler) return
      let last = performance.eventLoopUtilization()
      sampler = setInterval(() => {
        const now = performance.eventLoopUtilization()
        busy = performance.eventLoopUtilization(now, last).utilization >= options.busyUtilization
        if (busy) lastBusyAt = performance.now()
        last = now
      }, options.sampleMs)
      sampler.unref()
    },
    stop() {
      if (sampler) clearInterval(sampler)
      sampler = null
      busy = false
      lastBusyAt = -Infinity
      release()
    },
  }
}
