// The ingest's Prometheus metrics, registered on the service registry (served at /metrics).
import { Counter, Histogram, type Registry } from 'prom-client'

/** Catalog events keep their own label; anything else is counted as "other" so labels stay bounded. */
export const KNOWN_EVENTS = new Set([
  'time.logged', 'time.submitted', 'time.approved', 'time.rejected', 'time.locked', 'time.invoiced', 'time.unlocked',
  'time.deleted', 'time.updated', 'project_member.added', 'project_member.updated', 'project_member.removed',
  'user.invited', 'user.linked', 'user.updated', 'wiki_page.created', 'wiki_page.updated', 'integration_link.created',
  'integration_link.updated', 'invoice.paid', 'invoice.finalized',
])

export function eventLabel(event: string): string {
  return KNOWN_EVENTS.has(event) ? event : 'other'
}

/** What became of a verified delivery. */
export type DeliveryOutcome = 'processed' | 'deduplicated' | 'replayed' | 'failed'

/** Why a request was refused before it was recorded. */
export type VerificationFailureReason =
  | 'missing_header' | 'invalid_header' | 'invalid_body' | 'unknown_connection' | 'malformed_signature' | 'bad_signature' | 'stale_timestamp'

export interface IngestMetrics {
  deliveries: Counter<'event' | 'outcome'>
  verificationFailures: Counter<'reason'>
  handlerDuration: Histogram<'event'>
  /** Deliveries per statement of the time status events' one-statement path (status-event-batcher.ts). */
  statusStatementSize: Histogram
}

export function createIngestMetrics(registry: Registry): IngestMetrics {
  return {
    deliveries: new Counter({
      name: 'align_webhook_deliveries_total',
      help: 'Verified Align webhook deliveries by event and outcome',
      labelNames: ['event', 'outcome'],
      registers: [registry],
    }),
    verificationFailures: new Counter({
      name: 'align_webhook_verification_failures_total',
      help: 'Align webhook requests refused before recording, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    handlerDuration: new Histogram({
      name: 'align_webhook_handler_duration_seconds',
      help: 'Time from verification to commit of a delivery (dedup, replay check, handler, mark processed)',
      labelNames: ['event'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    statusStatementSize: new Histogram({
      name: 'align_webhook_status_statement_deliveries',
      help: 'Time status deliveries written by one statement (more than one when they arrive while earlier ones are written)',
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers: [registry],
    }),
  }
}
