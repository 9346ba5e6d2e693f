// The slot share on its own, time passed in: a connection's share of the slots while another is active on a busy loop.
import { describe, expect, it } from 'vitest'
import { createSlotShare } from '../src/outbox/slot-share.js'

const nothingInHand = () => false

describe('slot share', () => {
  it('alone a connection may hold all but a tenth of the slots; beside another active one on a busy loop, a quarter', () => {
    const share = createSlotShare({ concurrency: 20, activeWindowMs: 1000 })
    expect([share.alone, share.shared]).toEqual([18, 5])
    share.touch('a', 0)
    expect(share.limit('a', 0, nothingInHand, true)).toBe(18)
    share.touch('b', 100)
    expect(share.limit('a', 100, nothingInHand, true)).toBe(5)
    expect(share.limit('b', 100, nothingInHand, true)).toBe(5)
    // On an idle loop the units in flight wait on Align: more of them are throughput, nothing is cut.
    expect(share.limit('a', 100, nothingInHand, false)).toBe(18)
  })

  it('another connection counts as active for the window after its last unit, and for as long as it has units in hand', () => {
    const share = createSlotShare({ concurrency: 20, activeWindowMs: 1000 })
    share.touch('a', 0)
    share.touch('b', 0)
    expect(share.limit('a', 1000, nothingInHand, true)).toBe(5)
    expect(share.limit('a', 1001, (id) => id === 'b', true)).toBe(5)
    expect(share.limit('a', 1001, nothingInHand, true)).toBe(18)
    // Forgotten once quiet: a later unit makes it active again.
    expect(share.limit('a', 5000, (id) => id === 'b', true)).toBe(18)
    share.touch('b', 5000)
    expect(share.limit('a', 5000, nothingInHand, true)).toBe(5)
  })

  it('small concurrencies keep at least one slot per connection', () => {
    expect(createSlotShare({ concurrency: 1, activeWindowMs: 1000 })).toMatchObject({ alone: 1, shared: 1 })
    expect(createSlotShare({ concurrency: 4, activeWindowMs: 1000 })).toMatchObject({ alone: 3, shared: 1 })
    expect(createSlotShare({ concurrency: 8, activeWindowMs: 1000 })).toMatchObject({ alone: 7, shared: 2 })
  })
})
