// Development-only signing keys: one ES256 key pair generated on first use into .data/dev-auth/ at the
// repository root (git-ignored). The api accepts its public key only outside production and only with
// AUTH_DEV_KEYS=1; `pnpm dev:token` signs with its private key.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose'

export const DEV_KEY_ALGORITHM = 'ES256'

/** <repo>/.data/dev-auth: this file is services/api/{src,dist}/dev-keys.* */
export function defaultDevKeyDir(): string {
  return fileURLToPath(new URL('../../../.data/dev-auth/', import.meta.url))
}

export interface DevKeyPair {
  publicKeyPem: string
  privateKeyPem: string
}

/** Reads the dev key pair, generating it once when missing. */
export async function ensureDevKeyPair(dir: string = defaultDevKeyDir()): Promise<DevKeyPair> {
  const publicPath = path.join(dir, 'public.pem')
  const privatePath = path.join(dir, 'private.pem')
  if (!existsSync(publicPath) || !existsSync(privatePath)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const { publicKey, privateKey } = await generateKeyPair(DEV_KEY_ALGORITHM, { extractable: true })
    // 'wx': two processes racing to create the pair never overwrite each other's half.
    try {
      writeFileSync(privatePath, await exportPKCS8(privateKey), { mode: 0o600, flag: 'wx' })
      writeFileSync(publicPath, await exportSPKI(publicKey), { mode: 0o644, flag: 'wx' })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
  }
  return { publicKeyPem: readFileSync(publicPath, 'utf8'), privateKeyPem: readFileSync(privatePath, 'utf8') }
}
