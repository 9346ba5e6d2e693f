import { createAlignConnection, createTenantWithCompany, useTestDatabase } from '@illumera/test-harness'
import { describe, expect, it } from 'vitest'
import { effectiveLimit, pauseConnection, readAlignBudget, takeAlignBudget } from '../src/index.js'

const t = useTestDatabase()

async function connection() {
  const { tenant, company } = await createTenantWithCompany(t.db)
  return createAlignConnection(t.db, { tenantId: tenant.id, companyId: company.id })
}

describe('takeAlignBudget', () => {
  it('grants up to the effective limit in one window, then says when the oldest grant leaves it', async () => {
    const c = await connection()
    const start = new Date('2026-11-23T10:00:00Z')
    const limit = effectiveLimit(10)
    expect(limit).toBe(9)
    for (let i = 0; i < limit; i++) {
      const d = await takeAlignBudget(t.db, c.id, new Date(start.getTime() + i * 1000), { limitPerMinute: 10 })
      expect(d).toMatchObject({ granted: true, remaining: limit - i - 1 })
    }
    const denied = await takeAlignBudget(t.db, c.id, new Date(start.getTime() + 20_000), { limitPerMinute: 10 })
    expect(denied).toMatchObject({ granted: false, reason: 'budget' })
    if (denied.granted) throw new Error('unreachable')
    // The first grant (at start) leaves the window at start + 60 s + 500 ms skew.
    expect(denied.retryAt.getTime()).toBe(start.getTime() + 60_500 + 1)
    expect(await takeAlignBudget(t.db, c.id, denied.retryAt, { limitPerMinute: 10 })).toMatchObject({ granted: true })
    expect(await takeAlignBudget(t.db, c.id, denied.retryAt, { limitPerMinute: 10 })).toMatchObject({ granted: false })
  })

  it('never grants more than the limit to concurrent takers', async () => {
    const c = await connection()
    const now = new Date('2026-11-23T10:00:00Z')
    const decisions = await Promise.all(Array.from({ length: 40 }, () => takeAlignBudget(t.db, c.id, now, { limitPerMinute: 20 })))
    expect(decisions.filter((d) => d.granted)).toHaveLength(effectiveLimit(20))
    expect(await readAlignBudget(t.db, c.id, now, { limitPerMinute: 20 })).toBe(0)
  })

  it('keeps connections apart', async () => {
    const a = await connection()
    const b = await connection()
    const now = new Date('2026-11-23T10:00:00Z')
    expect(await takeAlignBudget(t.db, a.id, now, { limitPerMinute: 2 })).toMatchObject({ granted: true })
    expect(await takeAlignBudget(t.db, a.id, now, { limitPerMinute: 2 })).toMatchObject({ granted: false })
    expect(await takeAlignBudget(t.db, b.id, now, { limitPerMinute: 2 })).toMatchObject({ granted: true })
  })

  it('gives nothing while the connection is paused, and a pause is never shortened', async () => {
    const c = await connection()
    const now = new Date('2026-11-23T10:00:00Z')
    const until = new Date(now.getTime() + 30_000)
    await pauseConnection(t.db, c.id, until)
    await pauseConnection(t.db, c.id, new Date(now.getTime() + 5_000))
    for (const limitPerMinute of [600, 0]) {
      const d = await takeAlignBudget(t.db, c.id, now, { limitPerMinute })
      expect(d).toEqual({ granted: false, retryAt: until, reason: 'paused' })
    }
    expect(await takeAlignBudget(t.db, c.id, until, { limitPerMinute: 600 })).toMatchObject({ granted: true })
  })

  it('limit 0 turns pacing off', async () => {
    const c = await connection()
    const now = new Date()
    for (let i = 0; i < 5; i++) expect(await takeAlignBudget(t.db, c.id, now, { limitPerMinute: 0 })).toMatchObject({ granted: true })
  })
})
