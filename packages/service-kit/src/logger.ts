// One root pino logger per process. Secrets are redacted here as a second line of defence; the first
// is never putting them in log objects at all.
import pino, { type Bindings, type ChildLoggerOptions, type DestinationStream, type Logger } from 'pino'

export type { Logger } from 'pino'

/** Paths pino replaces with [REDACTED]. Case sensitive: Node lowercases incoming header names. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-align-signature"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-align-signature"]',
  'apiKey',
  'hmacSecret',
  'encryptionKey',
  'webhookSecret',
  'password',
  '*.apiKey',
  '*.hmacSecret',
  '*.encryptionKey',
  '*.webhookSecret',
  '*.password',
  '*.encrypted_api_key',
  '*.webhook_secret',
  '*.previous_webhook_secret',
]

export interface CreateLoggerOptions {
  level?: string
  /** The service name, on every line. */
  name?: string
  /** Where lines go (default stdout); tests pass a stream. */
  destination?: DestinationStream
}

export function createLogger(options: CreateLoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      name: options.name,
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ sync: false }),
  )
}

const { chindingsSym } = pino.symbols

/**
 * Fastify's per-request child logger (its childLoggerFactory), for bindings of strings only (the request id).
 * pino runs the redaction stringifier (its wildcard paths) over every binding value when it makes a child, on
 * every request; a string has no properties to redact, so its JSON is appended to the child's bindings text
 * directly (the same text pino writes). Anything else (object values, a level or serializers) takes pino's own path.
 */
export function requestChildLogger(logger: Logger, bindings: Bindings, options: ChildLoggerOptions): Logger {
  if (Object.keys(options).length > 0) return logger.child(bindings, options)
  let text = ''
  for (const key in bindings) {
    const value: unknown = bindings[key]
    if (typeof value !== 'string') return logger.child(bindings, options)
    text += `,${JSON.stringify(key)}:${JSON.stringify(value)}`
  }
  const child = logger.child({})
  ;(child as unknown as Record<symbol, string>)[chindingsSym] += text
  return child
}
