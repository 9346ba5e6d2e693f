import { Type } from '@sinclair/typebox'
import { describe, expect, it } from 'vitest'
import { Writable } from 'node:stream'
import { createLogger, createMetricsRegistry, createServiceApp, notFound } from '../src/index.js'

async function buildApp(options: { ready?: () => Promise<void>; shuttingDown?: boolean } = {}) {
  const lines: string[] = []
  const logger = createLogger({ destination: new Writable({ write(c, _e, d) { lines.push(String(c)); d() } }) })
  const app = await createServiceApp({
    logger,
    metrics: createMetricsRegistry('test'),
    checks: options.ready ? { db: options.ready } : {},
    isShuttingDown: () => options.shuttingDown ?? false,
  })
  app.post('/things', { schema: { body: Type.Object({ minutes: Type.Integer({ minimum: 1, maximum: 1440 }) }, { additionalProperties: false }) } }, async () => ({ ok: true }))
  app.get('/things/:id', async (request) => {
    throw notFound('thing', (request.params as { id: string }).id)
  })
  app.get('/boom', async () => {
    throw new Error('database password is hunter2')
  })
  return { app, lines }
}

describe('errors', () => {
  it('a validation error is a 400 naming the field', async () => {
    const { app } = await buildApp()
    const res = await app.inject({ method: 'POST', url: '/things', payload: { minutes: 5000 } })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({ statusCode: 400, error: 'Bad Request', code: 'validation_error' })
    expect(res.json().message).toContain('minutes')
    const extra = await app.inject({ method: 'POST', url: '/things', payload: { minutes: 5, sneaky: true } })
    expect(extra.statusCode).toBe(400)
    expect(extra.json().message).toContain('additional properties')
  })

  it('an HttpError keeps its status and message', async () => {
    const { app } = await buildApp()
    const res = await app.inject({ method: 'GET', url: '/things/42' })
    expect(res.statusCode).toBe(404)
    expect(res.json()).toEqual({ statusCode: 404, error: 'Not Found', message: 'thing 42 not found', code: 'not_found' })
  })

  it('a 500 shows a generic message and logs the cause', async () => {
    const { app, lines } = await buildApp()
    const res = await app.inject({ method: 'GET', url: '/boom' })
    expect(res.statusCode).toBe(500)
    expect(res.json()).toEqual({ statusCode: 500, error: 'Internal Server Error', message: 'internal server error' })
    expect(lines.join('')).toContain('request failed')
  })

  it('an unknown route is a 404 naming it', async () => {
    const { app } = await buildApp()
    const res = await app.inject({ method: 'GET', url: '/nope?x=1' })
    expect(res.statusCode).toBe(404)
    expect(res.json().message).toBe('route GET /nope not found')
  })

  it('malformed JSON is a 400', async () => {
    const { app } = await buildApp()
    const res = await app.inject({ method: 'POST', url: '/things', headers: { 'content-type': 'application/json' }, payload: '{"minutes":' })
    expect(res.statusCode).toBe(400)
    expect(res.json().statusCode).toBe(400)
  })
})

describe('health and metrics', () => {
  it('healthz is always ok; readyz reflects checks and shutdown', async () => {
    let healthy = true
    const { app } = await buildApp({ ready: async () => { if (!healthy) throw new Error('down') } })
    expect((await app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' })
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(200)
    healthy = false
    const notReady = await app.inject({ url: '/readyz' })
    expect(notReady.statusCode).toBe(503)
    expect(notReady.json()).toEqual({ status: 'not_ready', checks: { db: 'failed' } })
    const closing = await buildApp({ shuttingDown: true })
    expect((await closing.app.inject({ url: '/readyz' })).statusCode).toBe(503)
  })

  it('serves Prometheus metrics including request durations', async () => {
    const { app } = await buildApp()
    await app.inject({ method: 'GET', url: '/things/1' })
    await app.inject({ method: 'GET', url: '/things/2' })
    await app.inject({ method: 'POST', url: '/things', payload: { minutes: 5 } })
    await app.inject({ method: 'POST', url: '/things', payload: { minutes: 0 } })
    await app.inject({ method: 'GET', url: '/nowhere' })
    const res = await app.inject({ url: '/metrics' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toContain('text/plain')
    // One series per method, route template and status; the scrape itself is not recorded.
    expect(res.body).toContain('http_request_duration_seconds_count{service="test",method="GET",route="/things/:id",status_code="404"} 2')
    expect(res.body).toContain('http_request_duration_seconds_count{service="test",method="POST",route="/things",status_code="200"} 1')
    expect(res.body).toContain('http_request_duration_seconds_count{service="test",method="POST",route="/things",status_code="400"} 1')
    expect(res.body).toContain('http_request_duration_seconds_count{service="test",method="GET",route="unmatched",status_code="404"} 1')
    expect(res.body).toContain('http_request_duration_seconds_bucket{le="+Inf",service="test",method="GET",route="/things/:id",status_code="404"} 2')
    expect(res.body).not.toContain('route="/metrics"')
    expect(res.body).toContain('process_cpu_user_seconds_total')
  })
})
