// One root pino logger per process. Secrets are redacted here as a second line of defence; the first
// is never putting them in log objects at all.
import pino, { type DestinationStream, type Logger } from 'pino'

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
