// Shared set-up for tests against @illumera/align-sandbox: a sandbox on port 0 per test file,
// a fresh organization per test that needs one, and gateways that record every attempt.
import { startAlignSandbox } from '@illumera/align-sandbox'
import { AlignGateway, type AlignGatewayOptions, type AlignResponseInfo } from '../../src/index.js'

export type Sandbox = Awaited<ReturnType<typeof startAlignSandbox>>

export async function startSandbox(options: { rateLimitPerMinute?: number | null } = {}): Promise<Sandbox> {
  return startAlignSandbox({ port: 0, ...options })
}

export interface TestGateway {
  gateway: AlignGateway
  apiKey: string
  organizationId: string
  /** Every attempt reported through onResponse, in order. */
  attempts: AlignResponseInfo[]
}

/** A new organization in the sandbox and a gateway on its organization-scoped key. */
export async function newOrgGateway(sandbox: Sandbox, options: Partial<AlignGatewayOptions> = {}): Promise<TestGateway> {
  const { organizationId, apiKey } = await sandbox.control.createOrg()
  return { ...gatewayFor(sandbox, apiKey, options), organizationId }
}

export function gatewayFor(
  sandbox: Sandbox,
  apiKey: string,
  options: Partial<AlignGatewayOptions> = {},
): { gateway: AlignGateway; apiKey: string; attempts: AlignResponseInfo[] } {
  const attempts: AlignResponseInfo[] = []
  const gateway = new AlignGateway({
    apiKey,
    baseUrl: sandbox.apiBaseUrl,
    retryBaseDelayMs: 5,
    retryMaxDelayMs: 20,
    ...options,
    onResponse: (info) => {
      attempts.push(info)
      options.onResponse?.(info)
    },
  })
  return { gateway, apiKey, attempts }
}

let counter = 0
/** A unique local id, as Illumera would use for externalId and Idempotency-Key. */
export function localId(prefix: string): string {
  counter++
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`
}
