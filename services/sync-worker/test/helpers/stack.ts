// The api and the webhook-ingest as real processes (their src/main.ts, as deployed, configured only by the
// environment) for the end-to-end test that needs all three services; the worker runs in the test's process.
// Spawned by path: services never import each other, and a test that wires them must not make them.
import { type ChildProcess, spawn } from 'node:child_process'
import { generateKeyPairSync, type KeyObject, randomUUID, sign } from 'node:crypto'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { tsSourceLoaderUrl as loader } from '@illumera/test-harness'
import { ENCRYPTION_KEY } from './setup.js'

const services = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
export const API_MAIN = path.join(services, 'api', 'src', 'main.ts')
export const INGEST_MAIN = path.join(services, 'webhook-ingest', 'src', 'main.ts')

export interface ServiceProcess {
  url: string
  output: string[]
  stop(): Promise<void>
}

/** Starts a service on an ephemeral port and resolves with its URL once it listens (Fastify logs the address). */
export async function startService(main: string, env: Record<string, string>, limitMs = 60_000): Promise<ServiceProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--conditions=@illumera/source', '--import', loader, main], {
    env: { PATH: process.env.PATH ?? '', ALIGN_ENCRYPTION_KEY: ENCRYPTION_KEY, PORT: '0', LOG_LEVEL: 'info', DB_POOL_SIZE: '4', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output: string[] = []
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${path.basename(path.dirname(path.dirname(main)))} did not listen within ${limitMs} ms:\n${output.join('').slice(-3000)}`)), limitMs)
    const onData = (chunk: Buffer) => {
      output.push(String(chunk))
      const port = /Server listening at http:\/\/[^"\s]+:(\d+)/.exec(output.join(''))?.[1]
      if (port) {
        clearTimeout(timer)
        resolve(`http://127.0.0.1:${port}`)
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (chunk) => output.push(String(chunk)))
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`exited with ${code} before listening:\n${output.join('').slice(-3000)}`)) })
  })
  return {
    url, output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
    },
  }
}

export interface TokenSigner {
  /** For AUTH_PUBLIC_KEY. */
  publicKeyPem: string
  token(claims: { tenantId: string; companyId: string; role: 'company_admin' | 'talent' | 'platform_admin'; userId?: string }): string
}

/** ES256 tokens the api accepts with AUTH_PUBLIC_KEY set to publicKeyPem. */
export function createTokenSigner(): TokenSigner {
  const { publicKey, privateKey }: { publicKey: KeyObject; privateKey: KeyObject } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const b64 = (value: object | Buffer) => (Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value))).toString('base64url')
  return {
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    token({ tenantId, companyId, role, userId }) {
      const now = Math.floor(Date.now() / 1000)
      const signingInput = `${b64({ alg: 'ES256', typ: 'JWT' })}.${b64({ sub: userId ?? `admin-${randomUUID()}`, tenant_id: tenantId, company_id: companyId, role, iat: now, exp: now + 3600 })}`
      const signature = sign('sha256', Buffer.from(signingInput), { key: privateKey, dsaEncoding: 'ieee-p1363' })
      return `${signingInput}.${b64(signature)}`
    },
  }
}
