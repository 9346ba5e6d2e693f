// The priority gate on its own: what a backlog's unit waits for, and for how long at most.
import { until } from '@illumera/test-harness'
import { describe, expect, it } from 'vitest'
import { createPriorityGate } from '../src/outbox/priority-gate.js'

function settled(p: Promise<void>): () => boolean {
  let done = false
  void p.then(() => { done = true })
  return () => done
}

const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms))

describe('priority gate', () => {
  it('holds a step while a priority step is in flight on a busy loop, and lets it go when the last one leaves', async () => {
    const gate = createPriorityGate({ holdMs: 10_000, busyUtilization: 0.75, sampleMs: 100, isBusy: () => true })
    expect(gate.hold()).toBeUndefined() // nothing with priority in flight
    gate.enter()
    gate.enter()
    const held = settled(gate.hold()!)
    await tick(20)
    expect(held()).toBe(false)
    gate.leave()
    await tick(20)
    expect(held()).toBe(false) // one is still in flight
    gate.leave()
    await tick()
    expect(held()).toBe(true)
    expect(gate.hold()).toBeUndefined()
  })

  it('holds no longer than holdMs', async () => {
    const gate = createPriorityGate({ holdMs: 30, busyUtilization: 0.75, sampleMs: 100, isBusy: () => true })
    gate.enter()
    const started = performance.now()
    await gate.hold()
    const waited = performance.now() - started
    expect(waited).toBeGreaterThanOrEqual(25)
    expect(waited).toBeLessThan(1_000)
  })

  it('holds nothing while the loop is not busy, and stop() lets every held step go', async () => {
    let busy = false
    const gate = createPriorityGate({ holdMs: 10_000, busyUtilization: 0.75, sampleMs: 100, isBusy: () => busy })
    gate.enter()
    expect(gate.hold()).toBeUndefined()
    busy = true
    const held = settled(gate.hold()!)
    gate.stop()
    await tick()
    expect(held()).toBe(true)
  })

  it('samples the event loop: a loop kept busy counts as busy, an idle one does not', async () => {
    const gate = createPriorityGate({ holdMs: 10_000, busyUtilization: 0.75, sampleMs: 50 })
    gate.start()
    gate.enter()
    await tick(120)
    expect(gate.hold()).toBeUndefined() // idle loop
    // Keep the loop busy across two samples.
    const until = performance.now() + 130
    while (performance.now() < until) await new Promise<void>((resolve) => setImmediate(() => {
      for (const end = performance.now() + 5; performance.now() < end;) { /* busy */ }
      resolve()
    }))
    const held = gate.hold()
    expect(held).toBeDefined()
    gate.stop()
    await held
  })

  it('busyWithin: a busy sample counts for the given window after it, also once the loop is idle again', async () => {
    const gate = createPriorityGate({ holdMs: 10_000, busyUtilization: 0.75, sampleMs: 20 })
    gate.start()
    try {
      expect(gate.busyWithin(60_000)).toBe(false) // no sample yet
      for (const end = performance.now() + 60; performance.now() < end;) { /* the loop saturated across a sample */ }
      await until(() => gate.busyWithin(60_000), 'a busy sample', { limitMs: 2_000, intervalMs: 5 })
      await until(() => !gate.busyWithin(0), 'an idle sample', { limitMs: 2_000, intervalMs: 5 })
      expect(gate.busyWithin(60_000)).toBe(true)
    } finally {
      gate.stop()
    }
    expect(gate.busyWithin(60_000)).toBe(false)
  })
})
