// What this repository deploys, in one table the Dockerfile, compose and Kubernetes tests check against.
// Variables and defaults come from each service's own config schema, so a new required variable or a
// changed default shows up here without editing the tests.
import { ApiEnv, loadConfig as loadApiConfig } from '../../../services/api/src/config.js'
import { loadConfig as loadReconciliationConfig, ReconciliationEnv } from '../../../services/reconciliation/src/config.js'
import { loadConfig as loadSyncWorkerConfig, SyncWorkerEnv } from '../../../services/sync-worker/src/config.js'
import { IngestEnv, loadConfig as loadIngestConfig } from '../../../services/webhook-ingest/src/config.js'
import { readRepoFile } from './repo.js'

export type Env = Record<string, string | undefined>

/** A TypeBox object schema, as far as these tests read it. */
export interface EnvSchema {
  properties: Record<string, { default?: unknown }>
}

export interface Deployable {
  /** The Dockerfile target, the compose service, the Kubernetes container and the image `illumera/<name>`. */
  name: string
  packageDir: string
  /** The package.json script whose command (`node <entry>`) the image runs. */
  script: 'start' | 'migrate'
  /** Long-running processes: the port DESIGN.md gives it and the path that says it can serve. */
  server?: { port: number; readinessPath: '/readyz' | '/healthz' }
  /** The config schema, for services that have one. */
  schema?: EnvSchema
  /** Every environment variable the process reads. */
  reads: readonly string[]
  /** Throws, as the process stops at start, when `env` lacks or has a bad required variable. */
  loadConfig(env: Env): unknown
}

/** The variables a plain entry file reads (`process.env.NAME`), for processes without a config schema. */
function envReadBy(file: string): string[] {
  return [...new Set([...readRepoFile(file).matchAll(/process\.env\.([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!))]
}

function schemaService(name: string, packageDir: string, schema: EnvSchema, loadConfig: (env: Env) => unknown, server?: Deployable['server']): Deployable {
  return { name, packageDir, script: 'start', schema, reads: Object.keys(schema.properties), loadConfig, ...(server ? { server } : {}) }
}

export const deployables: readonly Deployable[] = [
  schemaService('api', 'services/api', ApiEnv, loadApiConfig, { port: 3000, readinessPath: '/readyz' }),
  schemaService('webhook-ingest', 'services/webhook-ingest', IngestEnv, loadIngestConfig, { port: 3001, readinessPath: '/readyz' }),
  schemaService('sync-worker', 'services/sync-worker', SyncWorkerEnv, loadSyncWorkerConfig, { port: 3002, readinessPath: '/readyz' }),
  schemaService('reconciliation', 'services/reconciliation', ReconciliationEnv, loadReconciliationConfig),
  {
    name: 'migrate',
    packageDir: 'packages/db-schema',
    script: 'migrate',
    reads: envReadBy('packages/db-schema/src/bin/migrate.ts'),
    loadConfig(env) {
      if (!env.DATABASE_URL?.startsWith('postgres')) throw new Error('DATABASE_URL: required (postgres://…)')
      return env
    },
  },
  {
    name: 'align-sandbox',
    packageDir: 'packages/align-sandbox',
    script: 'start',
    server: { port: 4010, readinessPath: '/healthz' },
    reads: envReadBy('packages/align-sandbox/src/main.ts'),
    loadConfig: (env) => env,
  },
]

export function deployable(name: string): Deployable {
  const found = deployables.find((d) => d.name === name)
  if (!found) throw new Error(`no deployable named ${name}`)
  return found
}

/** The sync worker's ALIGN_CALL_TIMEOUT_MS: the value set in `env`, else its config default. */
export function alignCallTimeoutMs(env: Env): number {
  const fallback = (SyncWorkerEnv.properties.ALIGN_CALL_TIMEOUT_MS as { default?: unknown }).default
  if (typeof fallback !== 'number') throw new Error('ALIGN_CALL_TIMEOUT_MS has no numeric default in services/sync-worker/src/config.ts')
  return env.ALIGN_CALL_TIMEOUT_MS === undefined ? fallback : Number(env.ALIGN_CALL_TIMEOUT_MS)
}

/**
 * Align calls one outbox row may make one after another before it finishes: an update answered 404, the
 * lookup by externalRef, then the create (services/sync-worker/src/outbox/handlers.ts). A stopping
 * worker waits for these, so its grace period must cover them.
 */
export const MAX_SEQUENTIAL_ALIGN_CALLS_PER_ROW = 3

/** Valid stand-ins for the secrets, so the real config parsers can judge the rest of an environment. */
export const FAKE_SECRET_VALUES = {
  databaseUrl: 'postgres://illumera:not-a-secret@postgres:5432/illumera',
  encryptionKey: '0123456789abcdef'.repeat(4),
} as const
