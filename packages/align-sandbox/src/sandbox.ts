// startAlignSandbox: wires the store, the webhook dispatcher, faults, idempotency and the rate
// limiter into one app and listens. Tests start one per file on port 0.
import type { AddressInfo } from 'node:net'
import { buildSandboxApp } from './app.js'
import { SandboxControl } from './control.js'
import { FaultState } from './faults.js'
import { IdempotencyStore } from './idempotency.js'
import { SlidingWindowRateLimiter } from './rate-limiter.js'
import { AlignStore } from './store.js'
import type { StartAlignSandboxOptions } from './types.js'
import { WebhookDispatcher } from './webhook-dispatcher.js'

export interface AlignSandbox {
  /** http://HOST:PORT (127.0.0.1 when listening on every interface). */
  url: string
  /** url + '/api/v1': what ALIGN_BASE_URL points at. */
  apiBaseUrl: string
  control: SandboxControl
  close(): Promise<void>
}

export const DEFAULT_WEBHOOK_RETRY_DELAYS_MS = [1_000, 5_000, 30_000, 120_000]

/**
 * Starts an Align emulator.
 * @example
 * const sandbox = await startAlignSandbox({ port: 0 })
 * const { apiKey } = await sandbox.control.createOrg()
 * // point the gateway at sandbox.apiBaseUrl with apiKey …
 * await sandbox.close()
 */
export async function startAlignSandbox(options: StartAlignSandboxOptions = {}): Promise<AlignSandbox> {
  const faults = new FaultState()
  const shutdown = new AbortController()
  const rateLimitPerMinute = options.rateLimitPerMinute === undefined ? 600 : options.rateLimitPerMinute || null
  const logger = options.logger ?? false

  // The dispatcher logs through the app's logger, which exists only once the app is built.
  let log: ((fields: Record<string, unknown>, message: string) => void) | undefined
  const dispatcher = new WebhookDispatcher({
    retryDelaysMs: options.webhookRetryDelaysMs ?? DEFAULT_WEBHOOK_RETRY_DELAYS_MS,
    timeoutMs: options.webhookTimeoutMs ?? 10_000,
    faults,
    log: (fields, message) => log?.(fields, message),
  })
  const store = new AlignStore(
    (organizationId, eventName, data, targets) => dispatcher.enqueue(organizationId, eventName, data, targets),
    (subscriptionId) => dispatcher.cancelSubscription(subscriptionId),
  )
  const idempotency = new IdempotencyStore()
  const rateLimiter = new SlidingWindowRateLimiter()
  const control = new SandboxControl(store, faults, dispatcher, idempotency, rateLimiter)
  const app = await buildSandboxApp({ store, control, faults, idempotency, rateLimiter, rateLimitPerMinute, shutdown: shutdown.signal, logger })
  const webhookLog = app.log.child({ component: 'webhooks' })
  log = (fields, message) => webhookLog.info(fields, message)

  const host = options.host ?? '127.0.0.1'
  await app.listen({ port: options.port ?? 4010, host })
  const { port } = app.server.address() as AddressInfo
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host
  const url = `http://${urlHost}:${port}`
  let closing: Promise<void> | undefined
  return {
    url,
    apiBaseUrl: `${url}/api/v1`,
    control,
    close() {
      closing ??= (async () => {
        shutdown.abort()
        await dispatcher.close()
        await app.close()
      })()
      return closing
    },
  }
}
