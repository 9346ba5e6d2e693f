// HttpError and the one error handler every service registers. Replies are always
// `{ statusCode, error, message }`: a 4xx keeps its message (it names the field or rule), a 5xx shows a
// generic message and logs the cause.
import type { FastifyError, FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { STATUS_CODES } from 'node:http'

export class HttpError extends Error {
  override name = 'HttpError'
  constructor(
    readonly statusCode: number,
    /** Machine-readable, e.g. `invalid_state`. */
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

export const badRequest = (message: string, code = 'bad_request') => new HttpError(400, code, message)
export const unauthorized = (message = 'a valid bearer token is required') => new HttpError(401, 'unauthorized', message)
export const forbidden = (message = 'this role may not do that') => new HttpError(403, 'forbidden', message)
export const notFound = (entity: string, id: string) => new HttpError(404, 'not_found', `${entity} ${id} not found`)
export const conflict = (message: string, code = 'conflict') => new HttpError(409, code, message)

export interface ErrorBody {
  statusCode: number
  error: string
  message: string
  code?: string
}

function body(statusCode: number, message: string, code?: string): ErrorBody {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message, ...(code ? { code } : {}) }
}

export const errorHandler = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler((err: FastifyError | HttpError | Error, request, reply) => {
      if (err instanceof HttpError) return reply.code(err.statusCode).send(body(err.statusCode, err.message, err.code))
      const fastifyErr = err as FastifyError
      if (fastifyErr.validation) {
        // e.g. "body/minutes must be <= 1440": the field is named by Fastify's validation context.
        return reply.code(400).send(body(400, fastifyErr.message, 'validation_error'))
      }
      const status = fastifyErr.statusCode
      if (status && status >= 400 && status < 500) return reply.code(status).send(body(status, fastifyErr.message, fastifyErr.code))
      request.log.error({ err }, 'request failed')
      return reply.code(500).send(body(500, 'internal server error'))
    })
    app.setNotFoundHandler((request, reply) => {
      reply.code(404).send(body(404, `route ${request.method} ${request.url.split('?')[0]} not found`, 'not_found'))
    })
  },
  { name: 'illumera-error-handler' },
)
