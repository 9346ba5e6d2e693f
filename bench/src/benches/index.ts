// Every bench, in report order. Add a bench by writing src/benches/<name>.ts and listing it here.
import type { Bench } from '../bench.js'
import { apiTimeEntries } from './api-time-entries.js'
import { gatewayOverhead } from './gateway-overhead.js'
import { reconciliation } from './reconciliation.js'
import { sandboxThroughput } from './sandbox-throughput.js'
import { syncWorkerFairness } from './sync-worker-fairness.js'
import { syncWorkerLatency } from './sync-worker-latency.js'
import { syncWorkerRateBudget } from './sync-worker-rate-budget.js'
import { syncWorkerThroughput } from './sync-worker-throughput.js'
import { webhookIngest } from './webhook-ingest.js'

export const benches: Bench[] = [gatewayOverhead, sandboxThroughput, webhookIngest, apiTimeEntries, syncWorkerLatency, syncWorkerThroughput, syncWorkerRateBudget, syncWorkerFairness, reconciliation]
