// POST /api/webhooks/align and POST /api/webhooks/align/:pathToken (the URL the api registers with
// Align names the connection). The raw body is kept as bytes for the HMAC: this plugin replaces the
// JSON parser with a buffer parser for its own routes only.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { HttpError } from '@illumera/service-kit'
import { Type } from '@sinclair/typebox'
import { type IngestDeps, ingestAlignDelivery } from '../deliveries/ingest-delivery.js'

export interface AlignWebhookRouteOptions {
  deps: IngestDeps
  /** Largest accepted body in bytes. */
  bodyLimit: number
}

const PathTokenParams = Type.Object({ pathToken: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false })

export const alignWebhookRoutes: FastifyPluginAsyncTypebox<AlignWebhookRouteOptions> = async (app, { deps, bodyLimit }) => {
  // Align sends application/json; any other (or no) content type is read as bytes too, and the JSON
  // check in the pipeline answers 400 for what is not JSON.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => done(null, body))

  const rawBodyOf = (body: unknown): Buffer => (Buffer.isBuffer(body) ? body : Buffer.alloc(0))

  // One log line per delivery, written by the pipeline (ids, event, outcome, status, duration): Fastify's own
  // "incoming request" / "request completed" lines (info) are off for these routes. What Fastify refuses before
  // the pipeline runs (a body over the limit, a bad path token) is logged here instead; a 5xx is logged by the
  // error handler.
  const logLevel = 'warn'
  app.addHook('onError', async (request, _reply, error) => {
    const status = (error as { statusCode?: number }).statusCode ?? 500
    if (error instanceof HttpError || status >= 500) return
    // The route pattern, not the URL: a path token names a connection and stays out of logs.
    deps.logger.warn({ status, code: (error as { code?: string }).code, route: request.routeOptions.url }, 'align webhook refused before the pipeline')
  })

  app.post('/', { logLevel }, async (request) => ingestAlignDelivery(deps, { headers: request.headers, rawBody: rawBodyOf(request.body) }))

  app.post('/:pathToken', { logLevel, schema: { params: PathTokenParams } }, async (request) =>
    ingestAlignDelivery(deps, { headers: request.headers, rawBody: rawBodyOf(request.body), pathToken: request.params.pathToken }))
}
