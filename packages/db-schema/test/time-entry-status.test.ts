import { describe, expect, it } from 'vitest'
import { canTransitionTimeEntry, TIME_ENTRY_STATUS_RANK, TIME_ENTRY_TRANSITIONS } from '../src/index.js'

describe('time entry state machine', () => {
  it('allows the documented lifecycle', () => {
    expect(canTransitionTimeEntry('draft', 'submitted')).toBe(true)
    expect(canTransitionTimeEntry('submitted', 'approved')).toBe(true)
    expect(canTransitionTimeEntry('submitted', 'rejected')).toBe(true)
    expect(canTransitionTimeEntry('rejected', 'draft')).toBe(true)
    expect(canTransitionTimeEntry('approved', 'locked')).toBe(true)
    expect(canTransitionTimeEntry('locked', 'invoiced')).toBe(true)
    expect(canTransitionTimeEntry('locked', 'draft')).toBe(true)
  })

  it('never moves backwards except through unlock or edit to draft', () => {
    for (const [from, targets] of Object.entries(TIME_ENTRY_TRANSITIONS)) {
      for (const to of targets) {
        if (to === 'draft') continue
        expect(TIME_ENTRY_STATUS_RANK[to], `${from} → ${to}`).toBeGreaterThan(TIME_ENTRY_STATUS_RANK[from as keyof typeof TIME_ENTRY_STATUS_RANK])
      }
    }
    expect(canTransitionTimeEntry('invoiced', 'approved')).toBe(false)
    expect(canTransitionTimeEntry('invoiced', 'draft')).toBe(false)
    expect(canTransitionTimeEntry('approved', 'submitted')).toBe(false)
    expect(canTransitionTimeEntry('draft', 'approved')).toBe(false)
  })
})
