import { createDb } from '@illumera/db-schema'
import { createAlignConnection, createTenantWithCompany, useTestDatabase } from '@illumera/test-harness'
import { describe, expect, it } from 'vitest'
import { type AlignBudgetDecision, defaultBurst, effectiveLimit, msUntilGrant, pacedFloorMs, pauseConnection, readAlignBudget, takeAlignBudget } from '../src/index.js'

const t = useTestDatabase()
const WINDOW_MS = 60_500

async function connection() {
  const { tenant, company } = await createTenantWithCompany(t.db)
  return createAlignConnection(t.db, { tenantId: tenant.id, companyId: company.id })
}

function grantedAt(d: AlignBudgetDecision): number {
  if (!d.granted) throw new Error(`expected a grant, got ${JSON.stringify(d)}`)
  return d.at.getTime()
}

function retryAt(d: AlignBudgetDecision): number {
  if (d.granted) throw new Error(`expected a denial, got ${JSON.stringify(d)}`)
  return d.retryAt.getTime()
}

/** The most grants in any sliding window of WINDOW_MS (grant times sorted). */
function mostInAnyWindow(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b)
  let most = 0
  for (let i = 0, j = 0; j < sorted.length; j++) {
    while (sorted[j]! - sorted[i]! >= WINDOW_MS) i++
    most = Math.max(most, j - i + 1)
  }
  return most
}

describe('msUntilGrant', () => {
  it('waits until a reserved moment and one ms past it, and not at all for a grant due now or past', () => {
    const now = new Date('2026-11-30T12:00:00.000Z')
    const grant = (ms: number) => ({ granted: true as const, at: new Date(now.getTime() + ms), remaining: 1 })
    expect(msUntilGrant(grant(250), now)).toBe(251)
    expect(msUntilGrant(grant(1), now)).toBe(2)
    expect(msUntilGrant(grant(0), now)).toBe(0)
    expect(msUntilGrant(grant(-5), now)).toBe(0)
  })
})

describe('takeAlignBudget', () => {
  it('the default burst is 7.5% of the effective limit', () => {
    expect(effectiveLimit(600)).toBe(591)
    expect(defaultBurst(600)).toBe(45)
    expect(defaultBurst(10)).toBe(1)
  })

  it('a burst goes out at once, then grants are spaced at window ÷ limit', async () => {
    const c = await connection()
    const now = Date.parse('2026-11-23T10:00:00Z')
    const interval = WINDOW_MS / 591
    for (let i = 0; i < 45; i++) {
      expect(grantedAt(await takeAlignBudget(t.db, c.id, new Date(now), { limitPerMinute: 600 }))).toBe(now)
    }
    const denied = await takeAlignBudget(t.db, c.id, new Date(now), { limitPerMinute: 600 })
    expect(denied).toMatchObject({ granted: false, reason: 'budget' })
    // The next grant frees up one interval after the burst (not when the window ends).
    expect(retryAt(denied)).toBe(Math.ceil(now + interval))
    expect(grantedAt(await takeAlignBudget(t.db, c.id, new Date(retryAt(denied)), { limitPerMinute: 600 }))).toBe(retryAt(denied))
    const next = await takeAlignBudget(t.db, c.id, new Date(retryAt(denied)), { limitPerMinute: 600 })
    expect(retryAt(next)).toBe(Math.ceil(now + 2 * interval))
  })

  it('reserves the next free moments within reserveWithinMs, one per taker, in time order', async () => {
    const c = await connection()
    const now = Date.parse('2026-11-23T10:00:00Z')
    const options = { limitPerMinute: 600, burst: 5, reserveWithinMs: 1000 }
    const interval = WINDOW_MS / 591
    const decisions = await Promise.all(Array.from({ length: 25 }, () => takeAlignBudget(t.db, c.id, new Date(now), options)))
    const ats = decisions.filter((d) => d.granted).map(grantedAt).sort((a, b) => a - b)
    // 5 now, then one per interval up to 1 s ahead (9 more), each a distinct moment after the burst.
    expect(ats).toHaveLength(5 + Math.floor(1000 / interval))
    expect(ats.slice(0, 5)).toEqual([now, now, now, now, now])
    for (let i = 5; i < ats.length; i++) expect(ats[i]).toBe(Math.ceil(now + (i - 4) * interval))
    const denials = decisions.filter((d) => !d.granted).map(retryAt)
    // The rest hear when the first moment beyond the reservation horizon comes.
    for (const at of denials) expect(at).toBeGreaterThan(now + 1000)
    expect(Math.min(...denials)).toBe(Math.ceil(now + (ats.length - 4) * interval))
  })

  it('never more than the effective limit in any sliding window, whatever the takers do (simulated time)', async () => {
    const c = await connection()
    // A small deterministic pseudo-random sequence: takers that come in bursts, trickles and quiet spells.
    let seed = 7
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31)
    const limitPerMinute = 60
    const limit = effectiveLimit(limitPerMinute)
    const options = { limitPerMinute, burst: 6 }
    const interval = WINDOW_MS / limit
    const ats: number[] = []
    let now = Date.parse('2026-11-23T10:00:00Z')
    const end = now + 5 * WINDOW_MS
    while (now < end) {
      const mode = random()
      const takers = mode < 0.2 ? 1 + Math.floor(random() * 20) : 1
      for (let i = 0; i < takers; i++) {
        const d = await takeAlignBudget(t.db, c.id, new Date(now), { ...options, reserveWithinMs: random() < 0.5 ? 0 : Math.floor(random() * 3000) })
        if (d.granted) {
          expect(d.at.getTime()).toBeGreaterThanOrEqual(now)
          ats.push(d.at.getTime())
        } else expect(d.retryAt.getTime()).toBeGreaterThan(now)
      }
      // Mostly asking about twice as often as the pace allows, sometimes quiet for up to 20 s.
      now += mode < 0.95 ? Math.floor(random() * interval) : Math.floor(random() * 20_000)
    }
    expect(ats.length).toBeGreaterThan(3 * limit)
    expect(mostInAnyWindow(ats)).toBeLessThanOrEqual(limit)
    // Pacing: any k consecutive grants (in time order) span at least (k − burst) intervals.
    const sorted = [...ats].sort((a, b) => a - b)
    for (let i = 0; i < sorted.length; i++) {
      for (let k = options.burst + 1; k <= 40 && i + k - 1 < sorted.length; k++) {
        expect(sorted[i + k - 1]! - sorted[i]!).toBeGreaterThanOrEqual(Math.floor((k - options.burst) * interval))
      }
    }
  })

  it('a saturated taker keeps the sustained rate: evenly spaced, ≥ 96% of the key in every minute after the first', async () => {
    const c = await connection()
    const limitPerMinute = 120
    const limit = effectiveLimit(limitPerMinute)
    const options = { limitPerMinute, reserveWithinMs: 1000 }
    const start = Date.parse('2026-11-23T10:00:00Z')
    const ats: number[] = []
    // Asks whenever it is not holding a reservation; when denied, waits for the moment the budget names.
    for (let now = start; now < start + 4 * 60_000;) {
      const d = await takeAlignBudget(t.db, c.id, new Date(now), options)
      if (d.granted) {
        ats.push(d.at.getTime())
        now = d.at.getTime()
      } else now = d.retryAt.getTime() - 1000
    }
    expect(mostInAnyWindow(ats)).toBeLessThanOrEqual(limit)
    for (let minute = 1; minute < 4; minute++) {
      const n = ats.filter((a) => a >= start + minute * 60_000 && a < start + (minute + 1) * 60_000).length
      expect(n).toBeGreaterThanOrEqual(0.96 * limitPerMinute)
    }
    // After the first window (burst, then the log's one catch-up gap) no gap is longer than two intervals.
    const later = ats.filter((a) => a > start + WINDOW_MS + 5_000)
    for (let i = 1; i < later.length; i++) expect(later[i]! - later[i - 1]!).toBeLessThanOrEqual(Math.ceil(2 * WINDOW_MS / limit))
  })

  it('pacedFloorMs is when a saturated taker gets its n-th grant', async () => {
    const c = await connection()
    const options = { limitPerMinute: 60, burst: 6 }
    const start = Date.parse('2026-11-23T10:00:00Z')
    const ats: number[] = []
    for (let now = start; ats.length < 130;) {
      const d = await takeAlignBudget(t.db, c.id, new Date(now), options)
      if (d.granted) ats.push(d.at.getTime() - start)
      else now = d.retryAt.getTime()
    }
    for (const n of [1, 6, 7, 30, 59, 60, 61, 100, 130]) expect(Math.abs(ats[n - 1]! - pacedFloorMs(n, options))).toBeLessThanOrEqual(1)
    expect(pacedFloorMs(10, { limitPerMinute: 0 })).toBe(0)
  })

  it('with burst = limit it is the plain sliding log: the whole window at once, then the oldest grant must leave', async () => {
    const c = await connection()
    const start = Date.parse('2026-11-23T10:00:00Z')
    const limit = effectiveLimit(10)
    expect(limit).toBe(9)
    const options = { limitPerMinute: 10, burst: limit }
    for (let i = 0; i < limit; i++) {
      const d = await takeAlignBudget(t.db, c.id, new Date(start + i * 1000), options)
      expect(d).toMatchObject({ granted: true, remaining: limit - i - 1 })
    }
    const denied = await takeAlignBudget(t.db, c.id, new Date(start + 20_000), options)
    expect(denied).toMatchObject({ granted: false, reason: 'budget' })
    // The first grant (at start) leaves the window at start + 60 s + 500 ms skew.
    expect(retryAt(denied)).toBe(start + WINDOW_MS)
    expect(await takeAlignBudget(t.db, c.id, new Date(retryAt(denied)), options)).toMatchObject({ granted: true })
    expect(await takeAlignBudget(t.db, c.id, new Date(retryAt(denied)), options)).toMatchObject({ granted: false })
  })

  it('never grants more than the limit to concurrent takers on several pools', async () => {
    const c = await connection()
    const pools = [t.db, createDb(t.url, { max: 5 }), createDb(t.url, { max: 5 })]
    try {
      const now = new Date('2026-11-23T10:00:00Z')
      const options = { limitPerMinute: 20, burst: effectiveLimit(20) }
      const decisions = await Promise.all(Array.from({ length: 45 }, (_, i) => takeAlignBudget(pools[i % 3]!, c.id, now, options)))
      expect(decisions.filter((d) => d.granted)).toHaveLength(effectiveLimit(20))
      expect(await readAlignBudget(t.db, c.id, now, options)).toBe(0)
      // Paced, with reservations: concurrent takers get distinct moments, and never more than the cap per window.
      const d = await connection()
      const paced = { limitPerMinute: 600, burst: 10, reserveWithinMs: 2000 }
      const reserved = await Promise.all(Array.from({ length: 60 }, (_, i) => takeAlignBudget(pools[i % 3]!, d.id, now, paced)))
      const ats = reserved.filter((r) => r.granted).map(grantedAt)
      expect(ats).toHaveLength(10 + Math.floor(2000 / (WINDOW_MS / 591)))
      expect(new Set(ats.filter((a) => a > now.getTime())).size).toBe(ats.length - 10)
    } finally {
      await Promise.all(pools.slice(1).map((p) => p.destroy()))
    }
  })

  it('keeps connections apart', async () => {
    const a = await connection()
    const b = await connection()
    const now = new Date('2026-11-23T10:00:00Z')
    expect(await takeAlignBudget(t.db, a.id, now, { limitPerMinute: 2 })).toMatchObject({ granted: true })
    expect(await takeAlignBudget(t.db, a.id, now, { limitPerMinute: 2 })).toMatchObject({ granted: false })
    expect(await takeAlignBudget(t.db, b.id, now, { limitPerMinute: 2 })).toMatchObject({ granted: true })
  })

  it('gives nothing while the connection is paused, reserves nothing either, and a pause is never shortened', async () => {
    const c = await connection()
    const now = new Date('2026-11-23T10:00:00Z')
    const until = new Date(now.getTime() + 30_000)
    await pauseConnection(t.db, c.id, until)
    await pauseConnection(t.db, c.id, new Date(now.getTime() + 5_000))
    for (const limitPerMinute of [600, 0]) {
      const d = await takeAlignBudget(t.db, c.id, now, { limitPerMinute, reserveWithinMs: 60_000 })
      expect(d).toEqual({ granted: false, retryAt: until, reason: 'paused' })
    }
    expect(await takeAlignBudget(t.db, c.id, until, { limitPerMinute: 600 })).toMatchObject({ granted: true, at: until })
  })

  it('limit 0 turns pacing off', async () => {
    const c = await connection()
    const now = new Date()
    for (let i = 0; i < 5; i++) expect(await takeAlignBudget(t.db, c.id, now, { limitPerMinute: 0 })).toMatchObject({ granted: true, at: now })
  })

  it('rejects a burst outside 1 … the effective limit', async () => {
    const c = await connection()
    await expect(takeAlignBudget(t.db, c.id, new Date(), { limitPerMinute: 600, burst: 0 })).rejects.toThrow(/burst must be an integer from 1 to the effective limit 591, got 0/)
    await expect(takeAlignBudget(t.db, c.id, new Date(), { limitPerMinute: 600, burst: 592 })).rejects.toThrow(/got 592/)
  })
})
