// /healthz: the process is alive (liveness). /readyz: it can serve (each check passes and it is not
// shutting down), so a load balancer stops sending traffic before the process exits.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { type Kysely, sql } from 'kysely'

export type ReadinessCheck = () => Promise<void>

export interface HealthOptions {
  checks?: Record<string, ReadinessCheck>
  /** Returns true once shutdown began. */
  isShuttingDown?: () => boolean
}

/** A readiness check that the database answers. */
export function databaseCheck(db: Kysely<any>): ReadinessCheck {
  return async () => {
    await sql`select 1`.execute(db)
  }
}

export const healthRoutes = fp<HealthOptions>(
  async (app: FastifyInstance, options) => {
    app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }))
    app.get('/readyz', { logLevel: 'warn' }, async (_request, reply) => {
      if (options.isShuttingDown?.()) return reply.code(503).send({ status: 'shutting_down' })
      const results: Record<string, string> = {}
      let ready = true
      for (const [name, check] of Object.entries(options.checks ?? {})) {
        try {
          await check()
          results[name] = 'ok'
        } catch {
          results[name] = 'failed'
          ready = false
        }
      }
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks: results })
    })
  },
  { name: 'illumera-health' },
)
