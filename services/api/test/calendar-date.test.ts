import { describe, expect, it } from 'vitest'
import { isCalendarDate } from '../src/http/schemas.js'

/** What a calendar date is, by the Date object: it round-trips through an ISO timestamp. */
function byDate(value: string): boolean {
  const date = new Date(`${value}T00:00:00Z`)
  return /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value
}

describe('isCalendarDate', () => {
  it('agrees with the Date object on every day number of every month, leap and century years included', () => {
    const pad = (n: number) => String(n).padStart(2, '0')
    let real = 0
    for (const year of [1900, 1999, 2000, 2023, 2024, 2026, 2100, 2400]) {
      for (let month = 0; month <= 13; month++) {
        for (let day = 0; day <= 32; day++) {
          const value = `${year}-${pad(month)}-${pad(day)}`
          expect(isCalendarDate(value), value).toBe(byDate(value))
          if (byDate(value)) real++
        }
      }
    }
    expect(real).toBe(365 * 5 + 366 * 3)
  })

  it('refuses what is not YYYY-MM-DD', () => {
    for (const value of ['', '2026-1-05', '2026-01-5', '26-01-05', '2026-01-05T00:00:00Z', ' 2026-01-05', '2026/01/05', '２０２６-01-05']) {
      expect(isCalendarDate(value), value).toBe(false)
    }
  })
})
