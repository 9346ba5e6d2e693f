// One AlignGateway per connection, built from its decrypted key and cached by (connection id, key
// ciphertext): a rotated key gets a new gateway, and the plaintext key lives only inside the gateway.
// Used by every caller that spends the shared rate budget (sync-worker, reconciliation): maxRetries 0, because
// the caller retries with its own backoff and every attempt must take a grant from the budget first.
import { AlignGateway, type AlignResponseInfo } from '@illumera/align-gateway'
import { decryptConnectionSecret } from './align-connection-secrets.js'
import type { SecretBox } from './secrets.js'

export interface GatewayConnection {
  id: string
  encrypted_api_key: string
}

export interface GatewayFactoryOptions {
  box: SecretBox
  baseUrl: string
  /** Per-call timeout (default 30 s). */
  timeoutMs?: number
  /** Non-secret fields of every HTTP attempt (tests watch the pages read). */
  onResponse?: (info: AlignResponseInfo) => void
}

export type GatewayFor = (connection: GatewayConnection) => AlignGateway

export function createGatewayFactory(options: GatewayFactoryOptions): GatewayFor {
  const cache = new Map<string, { ciphertext: string; gateway: AlignGateway }>()
  return (connection) => {
    const cached = cache.get(connection.id)
    if (cached && cached.ciphertext === connection.encrypted_api_key) return cached.gateway
    const apiKey = decryptConnectionSecret(options.box, connection.id, 'encrypted_api_key', connection.encrypted_api_key)
    const gateway = new AlignGateway({ apiKey, baseUrl: options.baseUrl, timeoutMs: options.timeoutMs ?? 30_000, maxRetries: 0, onResponse: options.onResponse })
    cache.set(connection.id, { ciphertext: connection.encrypted_api_key, gateway })
    return gateway
  }
}
