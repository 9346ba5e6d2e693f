// Align API key age: keys of this kind commonly expire at 90 days, so a key older than the threshold
// (ALIGN_KEY_MAX_AGE_DAYS, default 80) is flagged for rotation in the connection status, the admin
// dashboard and Prometheus, before syncing stops with a 401.
import type { Database } from '@illumera/db-schema'
import { Type } from '@sinclair/typebox'
import type { Kysely } from 'kysely'
import { Gauge, type Registry } from 'prom-client'
import { LIVE_CONNECTION_STATUSES } from './connections.queries.js'

export const DEFAULT_KEY_MAX_AGE_DAYS = 80
const DAY_MS = 24 * 60 * 60 * 1000

export const KeyAgeView = Type.Object({
  /** Whole days since the key was stored (connect or rotation). */
  days: Type.Integer(),
  thresholdDays: Type.Integer(),
  /** True once the key is older than thresholdDays: rotate it with PATCH /api/align/connections { apiKey }. */
  needsRotation: Type.Boolean(),
})

export function keyAgeOf(apiKeyCreatedAt: Date, now: Date, thresholdDays: number) {
  const ageMs = Math.max(0, now.getTime() - apiKeyCreatedAt.getTime())
  return { days: Math.floor(ageMs / DAY_MS), thresholdDays, needsRotation: ageMs > thresholdDays * DAY_MS }
}

/**
 * Gauges per live connection (active or error), read from the database when /metrics is scraped:
 * `align_connection_key_age_seconds` and `align_connection_key_needs_rotation` (1 or 0).
 */
export function registerKeyAgeMetrics(registry: Registry, db: Kysely<Database>, thresholdDays: number, now: () => Date): void {
  let reading: Promise<Array<{ id: string; api_key_created_at: Date }>> | null = null
  // One query per scrape for both gauges.
  const read = () => (reading ??= db.selectFrom('align_connections').select(['id', 'api_key_created_at'])
    .where('status', 'in', LIVE_CONNECTION_STATUSES).execute().finally(() => { reading = null }))
  new Gauge({
    name: 'align_connection_key_age_seconds', help: 'Age of the stored Align API key per live connection', labelNames: ['connection_id'], registers: [registry],
    async collect() {
      const rows = await read()
      this.reset() // a connection that disconnected drops out
      for (const r of rows) this.set({ connection_id: r.id }, Math.max(0, (now().getTime() - r.api_key_created_at.getTime()) / 1000))
    },
  })
  new Gauge({
    name: 'align_connection_key_needs_rotation',
    help: `1 when a live connection's Align API key is older than ALIGN_KEY_MAX_AGE_DAYS (${thresholdDays}) and should be rotated`,
    labelNames: ['connection_id'], registers: [registry],
    async collect() {
      const rows = await read()
      this.reset()
      for (const r of rows) this.set({ connection_id: r.id }, keyAgeOf(r.api_key_created_at, now(), thresholdDays).needsRotation ? 1 : 0)
    },
  })
}
