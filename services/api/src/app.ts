// buildApp: the api as a Fastify instance. It never reads the environment and never listens; main.ts and
// the tests give it everything it needs.
import swagger from '@fastify/swagger'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { AlignGatewayOptions } from '@illumera/align-gateway'
import type { Database } from '@illumera/db-schema'
import { createMetricsRegistry, createServiceApp, databaseCheck, type Logger, type SecretBox } from '@illumera/service-kit'
import type { Kysely } from 'kysely'
import type { Registry } from 'prom-client'
import { adminDashboardRoutes } from './admin-dashboard/dashboard-routes.js'
import { authPlugin } from './auth/auth-plugin.js'
import { formatSchemaErrors } from './http/schema-errors.js'
import { API_SECURITY_HEADERS, securityHeaders } from './http/security-headers.js'
import type { TokenVerifier } from './auth/verify-token.js'
import { adminRoutes } from './routes/admin.js'
import { DEFAULT_KEY_MAX_AGE_DAYS, registerKeyAgeMetrics } from './connections/key-age.js'
import { connectionRoutes } from './routes/connections.js'
import { engagementRoutes } from './routes/engagements.js'
import { invoiceRoutes } from './routes/invoices.js'
import { projectRoutes } from './routes/projects.js'
import { timeEntryRoutes } from './routes/time-entries.js'
import { userRoutes } from './routes/users.js'
import { createOutboxNotifier } from './sync/outbox-notifier.js'

export interface AlignSettings {
  /** ALIGN_BASE_URL. */
  baseUrl: string
  /** ALIGN_WEBHOOK_BASE_URL: webhooks are registered at <this>/api/webhooks/align/<path token>. */
  webhookBaseUrl: string
  /** How long a replaced webhook secret stays accepted (WEBHOOK_SECRET_GRACE_SECONDS). */
  webhookSecretGraceSeconds: number
  /** ALIGN_KEY_MAX_AGE_DAYS: an Align key older than this needs rotation (default 80). */
  keyMaxAgeDays?: number
  /** Extra AlignGateway options (timeouts, retries); apiKey and baseUrl are set per call. */
  gatewayOptions?: Omit<AlignGatewayOptions, 'apiKey' | 'baseUrl'>
}

export interface AppDeps {
  db: Kysely<Database>
  logger: Logger
  verifyToken: TokenVerifier
  /** Encrypts Align API keys and webhook secrets (bound to their row and column). */
  secretBox: SecretBox
  align: AlignSettings
  metrics?: Registry
  isShuttingDown?: () => boolean
  /** Clock for expiries (default: the system clock). */
  now?: () => Date
  /** Where the sync worker's post-commit wake-ups go out (default: db); main.ts gives them a connection of their own. */
  notifyDb?: Kysely<Database>
  /** The size of db's pool (DB_POOL_SIZE; default 10): how many time-entry create statements run at once. */
  dbPoolSize?: number
}

export const BODY_LIMIT_BYTES = 1024 * 1024

export async function buildApp(deps: AppDeps) {
  const metrics = deps.metrics ?? createMetricsRegistry('api')
  const base = await createServiceApp({
    logger: deps.logger,
    metrics,
    checks: { database: databaseCheck(deps.db) },
    ...(deps.isShuttingDown ? { isShuttingDown: deps.isShuttingDown } : {}),
    bodyLimit: BODY_LIMIT_BYTES,
  })
  const app = base.withTypeProvider<TypeBoxTypeProvider>()
  app.setSchemaErrorFormatter(formatSchemaErrors)
  const now = deps.now ?? (() => new Date())
  const keyMaxAgeDays = deps.align.keyMaxAgeDays ?? DEFAULT_KEY_MAX_AGE_DAYS
  registerKeyAgeMetrics(metrics, deps.db, keyMaxAgeDays, now)

  const outboxNotifier = createOutboxNotifier(deps.notifyDb ?? deps.db, deps.logger)
  app.addHook('onClose', () => outboxNotifier.close())

  await app.register(securityHeaders, { defaults: API_SECURITY_HEADERS })
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Illumera API', version: '0.1.0', description: 'Domain routes, Align connections and sync administration' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }],
    },
  })
  await app.register(authPlugin, { db: deps.db, verifyToken: deps.verifyToken })

  await app.register(async (api) => {
    api.get('/docs/json', { schema: { hide: true } }, async () => api.swagger())
    await api.register(projectRoutes, { prefix: '/projects', db: deps.db })
    await api.register(userRoutes, { prefix: '/users', db: deps.db })
    await api.register(engagementRoutes, { prefix: '/engagements', db: deps.db })
    await api.register(timeEntryRoutes, { prefix: '/time-entries', db: deps.db, outboxNotifier, createSlots: deps.dbPoolSize ?? 10, metrics })
    await api.register(invoiceRoutes, { prefix: '/invoices', db: deps.db })
    await api.register(connectionRoutes, { prefix: '/align/connections', db: deps.db, secretBox: deps.secretBox, align: deps.align, now })
    await api.register(adminRoutes, { prefix: '/admin/align', db: deps.db, now, keyMaxAgeDays })
  }, { prefix: '/api' })
  await app.register(adminDashboardRoutes, { prefix: '/admin' })

  return app
}

export type App = Awaited<ReturnType<typeof buildApp>>
