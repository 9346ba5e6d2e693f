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
    // Runs for every request: a callback hook (no promise), and each route/status/method keeps its labelled
    // child in nested maps (route and method are the same string objects each time, the status a small
    // integer), so a request neither builds a labels object nor a key string.
    const observers = new Map<string, Map<number, Map<string, ReturnType<typeof duration.labels>>>>()
    app.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? 'unmatched'
      if (route !== '/metrics') {
        const { method } = request
        const status = reply.statusCode
        let byStatus = observers.get(route)
        if (!byStatus) observers.set(route, (byStatus = new Map()))
        let byMethod = byStatus.get(status)
        if (!byMethod) byStatus.set(status, (byMethod = new Map()))
        let child = byMethod.get(method)
        if (!child) byMethod.set(method, (child = duration.labels({ method, route, status_code: String(status) })))
        child.observe(reply.elapsedTime / 1000)
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
