// What the bench (and the root stack script) use: the app factory, its database pool and the pruning function.
export { type AppDeps, buildApp, DEFAULT_REPLAY_WINDOW_MS } from './app.js'
export { createIngestDb } from './ingest-db.js'
export { pruneDeliveries } from './deliveries/deliveries.queries.js'
export { startDeliveryPruning } from './deliveries/prune-schedule.js'
export { statusEventApplies } from './events/time-entry-events.js'
