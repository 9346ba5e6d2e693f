// Prometheus metrics of the worker, registered on the service's registry.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

export interface SyncMetrics {
  claimed: Counter<'entity_type'>
  done: Counter<'entity_type'>
  failed: Counter<'entity_type'>
  retried: Counter<'entity_type' | 'reason'>
  alignCall: Histogram<'operation' | 'outcome'>
  budgetRemaining: Gauge<'connection_id'>
}

export function createSyncMetrics(registry: Registry, depth: () => Promise<Array<{ status: string; count: number; oldest: Date | null }>>): SyncMetrics {
  const registers = [registry]
  // Both gauges are read from the database when /metrics is scraped (one query per scrape).
  let pending: Promise<Array<{ status: string; count: number; oldest: Date | null }>> | null = null
  const read = () => (pending ??= depth().finally(() => { pending = null }))
  new Gauge({
    name: 'sync_outbox_depth', help: 'Outbox rows per open status', labelNames: ['status'], registers,
    async collect() {
      const rows = await read()
      for (const status of ['pending', 'processing', 'failed']) this.set({ status }, rows.find((r) => r.status === status)?.count ?? 0)
    },
  })
  new Gauge({
    name: 'sync_outbox_oldest_age_seconds', help: 'Age of the oldest outbox row per open status', labelNames: ['status'], registers,
    async collect() {
      const rows = await read()
      const now = Date.now()
      for (const status of ['pending', 'processing', 'failed']) {
        const oldest = rows.find((r) => r.status === status)?.oldest
        this.set({ status }, oldest ? Math.max(0, (now - oldest.getTime()) / 1000) : 0)
      }
    },
  })
  return {
    claimed: new Counter({ name: 'sync_rows_claimed_total', help: 'Outbox rows claimed', labelNames: ['entity_type'], registers }),
    done: new Counter({ name: 'sync_rows_done_total', help: 'Outbox rows delivered (coalesced rows included)', labelNames: ['entity_type'], registers }),
    failed: new Counter({ name: 'sync_rows_failed_total', help: 'Outbox rows dead-lettered', labelNames: ['entity_type'], registers }),
    retried: new Counter({
      name: 'sync_rows_retried_total',
      help: 'Outbox rows put back to pending, by reason (backoff, rate_limited, rate_budget, key_rejected, dependency, lease_lost, shutdown)',
      labelNames: ['entity_type', 'reason'], registers,
    }),
    alignCall: new Histogram({
      name: 'sync_align_call_duration_seconds', help: 'Align call latency by operation and outcome',
      labelNames: ['operation', 'outcome'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers,
    }),
    budgetRemaining: new Gauge({ name: 'sync_rate_budget_remaining', help: 'Align rate budget left in the current window, per connection', labelNames: ['connection_id'], registers }),
  }
}
