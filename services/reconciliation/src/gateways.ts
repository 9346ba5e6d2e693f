// One AlignGateway per connection, built from its decrypted key: the plaintext key lives only inside the
// gateway. maxRetries 0: callAlign retries, and every attempt takes a grant from the shared budget first.
import { AlignGateway, type AlignResponseInfo } from '@illumera/align-gateway'
import { decryptConnectionSecret, type SecretBox } from '@illumera/service-kit'

export interface GatewayConnection {
  id: string
  encrypted_api_key: string
}

export interface GatewayFactoryOptions {
  box: SecretBox
  baseUrl: string
  timeoutMs?: number
  /** Non-secret fields of every HTTP attempt (tests watch the pages read). */
  onResponse?: (info: AlignResponseInfo) => void
}

export function createGatewayFactory(options: GatewayFactoryOptions): (connection: GatewayConnection) => AlignGateway {
  return (connection) => {
    const apiKey = decryptConnectionSecret(options.box, connection.id, 'encrypted_api_key', connection.encrypted_api_key)
    return new AlignGateway({ apiKey, baseUrl: options.baseUrl, timeoutMs: options.timeoutMs ?? 30_000, maxRetries: 0, onResponse: options.onResponse })
  }
}
