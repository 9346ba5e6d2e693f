// The sandbox's HTTP app: the Align REST API under /api/v1, the control API under /_sandbox,
// and /healthz. It never reads process.env and never listens; startAlignSandbox does.
import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify'
import type { SandboxControl } from './control.js'
import { SandboxError } from './errors.js'
import type { FaultState } from './faults.js'
import type { IdempotencyStore } from './idempotency.js'
import type { SlidingWindowRateLimiter } from './rate-limiter.js'
import { alignApiRoutes } from './routes/api.js'
import { controlRoutes } from './routes/control.js'
import type { AlignStore } from './store.js'

export interface SandboxAppDeps {
  store: AlignStore
  control: SandboxControl
  faults: FaultState
  idempotency: IdempotencyStore
  rateLimiter: SlidingWindowRateLimiter
  /** Requests per minute per key when no fault overrides it; null turns the limit off. */
  rateLimitPerMinute: number | null
  /** Aborted when the sandbox closes, to cut injected latency short. */
  shutdown: AbortSignal
  logger: boolean | { stream?: NodeJS.WritableStream; level?: string }
}

/** The request URL as logged: a key revoked through the control API never reaches the log. */
export function redactUrl(url: string): string {
  return url.replace(/^(\/_sandbox\/keys\/)[^/?]+/, '$1[REDACTED]')
}

function loggerOptions(logger: SandboxAppDeps['logger']) {
  if (logger === false) return false
  const options = logger === true ? {} : logger
  return {
    level: options.level ?? 'info',
    ...(options.stream ? { stream: options.stream } : {}),
    redact: { paths: ['req.headers.authorization', 'req.headers["x-align-signature"]', '*.apiKey', '*.hmacSecret'], censor: '[REDACTED]' },
    serializers: {
      req(request: FastifyRequest) {
        return { method: request.method, url: redactUrl(request.url), requestId: request.id }
      },
    },
  }
}

/** Field named by a Fastify/ajv validation error: the property path, or the missing/unknown property. */
function validationField(error: FastifyError): string {
  const first = error.validation?.[0]
  if (!first) return 'body'
  const params = first.params as { missingProperty?: string; additionalProperty?: string }
  const path = first.instancePath.replace(/^\//, '').replace(/\//g, '.')
  const leaf = params.missingProperty ?? params.additionalProperty
  if (leaf) return path ? `${path}.${leaf}` : leaf
  return path || (error.validationContext === 'querystring' ? 'query' : (error.validationContext ?? 'body'))
}

function validationMessage(error: FastifyError, field: string): string {
  const first = error.validation?.[0]
  const params = (first?.params ?? {}) as { missingProperty?: string; additionalProperty?: string }
  if (params.missingProperty) return `${field}: is required`
  if (params.additionalProperty) return `${field}: is not a known field`
  if (first?.keyword === 'minProperties') return `${field}: must contain at least one field`
  return `${field}: ${first?.message ?? 'is invalid'}`
}

export function sendError(reply: FastifyReply, status: number, code: string, message: string, field?: string): FastifyReply {
  const error: { code: string; message: string; field?: string } = { code, message }
  if (field !== undefined) error.field = field
  return reply
    .code(status)
    .header('content-type', 'application/json; charset=utf-8')
    .send(JSON.stringify({ error, requestId: reply.request.id }))
}

export async function buildSandboxApp(deps: SandboxAppDeps) {
  const app = Fastify({
    logger: loggerOptions(deps.logger),
    genReqId: () => randomUUID(),
    forceCloseConnections: true,
    bodyLimit: 5 * 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
  })

  // An empty body with Content-Type: application/json is accepted as no body (POST …/submit).
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8')
    if (text.trim() === '') return done(null, undefined)
    try {
      done(null, JSON.parse(text))
    } catch {
      done(new SandboxError(400, 'validation_error', 'body: is not valid JSON', 'body'), undefined)
    }
  })

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof SandboxError) return sendError(reply, error.statusCode, error.code, error.message, error.field)
    if (error.validation) {
      const field = validationField(error)
      return sendError(reply, 400, 'validation_error', validationMessage(error, field), field)
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return sendError(reply, error.statusCode, error.statusCode === 404 ? 'not_found' : 'validation_error', error.message)
    }
    request.log.error({ err: error }, 'unhandled error')
    return sendError(reply, 500, 'internal_error', 'internal error')
  })

  app.setNotFoundHandler((request, reply) => sendError(reply, 404, 'not_found', `no route ${request.method} ${redactUrl(request.url.split('?')[0]!)}`))

  app.get('/healthz', async () => ({ status: 'ok' }))
  await app.register(alignApiRoutes, { prefix: '/api/v1', ...deps })
  await app.register(controlRoutes, { prefix: '/_sandbox', control: deps.control })
  return app
}
