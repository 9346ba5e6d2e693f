// Prometheus metrics: one registry per service (default process metrics + HTTP request durations),
// served at /metrics. Features register their own metrics on the same registry.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client'

export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry()
  registry.setDefaultLabels({ service })
  collectDefaultMetrics({ register: registry })
  return registry
}

export const metricsRoutes = fp<{ registry: Registry }>(
  async (app: FastifyInstance, { registry }) => {
    const duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by route and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    })
    // Runs for every request: a callback hook (no promise), and each method/route/status keeps its labelled
    // child, so a request does not build and hash a labels object.
    const observers = new Map<string, (seconds: number) => void>()
    app.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? 'unmatched'
      if (route !== '/metrics') {
        const key = `${request.method} ${reply.statusCode} ${route}`
        let observe = observers.get(key)
        if (!observe) {
          const child = duration.labels({ method: request.method, route, status_code: String(reply.statusCode) })
          observe = (seconds) => child.observe(seconds)
          observers.set(key, observe)
        }
        observe(reply.elapsedTime / 1000)
      }
      done()
    })
    app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
      reply.header('content-type', registry.contentType)
      return registry.metrics()
    })
  },
  { name: 'illumera-metrics' },
)
