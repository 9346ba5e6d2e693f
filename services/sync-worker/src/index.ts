// What the bench (and a future stack script) use: the worker factory, the gateway factory, the app.
export { createGatewayFactory, type GatewayFactoryOptions, type GatewayFor } from '@illumera/service-kit'
export { type AppDeps, buildApp } from './app.js'
export { loadConfig, type SyncWorkerConfig } from './config.js'
export { createWorkerDb } from './worker-db.js'
export { createSyncWorker, DEFAULT_SYNC_WORKER_OPTIONS, type RunSummary, type SyncWorker, type SyncWorkerDeps, type SyncWorkerOptions } from './worker.js'
