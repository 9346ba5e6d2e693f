// POST /api/webhooks/align and POST /api/webhooks/align/:pathToken (the URL the api registers with
// Align names the connection). The raw body is kept as bytes for the HMAC: this plugin replaces the
// JSON parser with a buffer parser for its own routes only.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
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

  app.post('/', async (request) => ingestAlignDelivery(deps, { headers: request.headers, rawBody: rawBodyOf(request.body) }))

  app.post('/:pathToken', { schema: { params: PathTokenParams } }, async (request) =>
    ingestAlignDelivery(deps, { headers: request.headers, rawBody: rawBodyOf(request.body), pathToken: request.params.pathToken }))
}
