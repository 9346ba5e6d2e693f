// The Fastify base every HTTP service starts from: our logger, strict validation (unknown body
// fields are a 400, not silently dropped), the error handler, health and metrics.
import Fastify, { type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { type HealthOptions, healthRoutes } from './health.js'
import { errorHandler } from './http-errors.js'
import { requestChildLogger } from './logger.js'
import { metricsRoutes } from './metrics.js'

export interface ServiceAppOptions extends HealthOptions {
  logger: Logger
  metrics: Registry
  /** Request body limit in bytes (default 1 MiB). */
  bodyLimit?: number
}

export async function createServiceApp(options: ServiceAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger,
    childLoggerFactory: (logger, bindings, childOptions) => requestChildLogger(logger as Logger, bindings, childOptions),
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
    return503OnClosing: true,
  }) as unknown as FastifyInstance
  await app.register(errorHandler)
  await app.register(healthRoutes, { checks: options.checks, isShuttingDown: options.isShuttingDown })
  await app.register(metricsRoutes, { registry: options.metrics })
  return app
}
