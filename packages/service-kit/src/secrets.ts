// Secrets at rest: AES-256-GCM with a key ring.
//
// Glossary
// - current key: ALIGN_ENCRYPTION_KEY; every new ciphertext uses it.
// - previous keys: ALIGN_ENCRYPTION_KEYS_PREVIOUS; still decrypt, never encrypt (rotation in progress).
// - key id: first 8 hex characters of sha256(key); names the key inside a ciphertext, reveals nothing.
// - binding: "<table>.<column>:<row id>", authenticated as AES-GCM associated data, so a ciphertext
//   copied to another row or column fails to decrypt.
// - ciphertext format (v1): "v1.<key id>.<iv>.<ciphertext>.<tag>", the last three base64url.
//
// DESIGN: beyond the reference, which uses one key and must be rotated by hand.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'

export interface SecretBinding {
  table: string
  column: string
  rowId: string
}

/** Decryption failed: unknown key, tampering, wrong row/column, or a malformed value. Never holds the secret. */
export class SecretDecryptError extends Error {
  override name = 'SecretDecryptError'
  constructor(readonly binding: SecretBinding, reason: string) {
    super(`cannot decrypt ${binding.table}.${binding.column} of row ${binding.rowId}: ${reason}`)
  }
}

const VERSION = 'v1'

function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8)
}

function aad(binding: SecretBinding): Buffer {
  return Buffer.from(`${binding.table}.${binding.column}:${binding.rowId}`, 'utf8')
}

function parseKey(hex: string, what: string): Buffer {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error(`${what}: expected 64 hex characters`)
  return Buffer.from(hex, 'hex')
}

export class SecretBox {
  readonly currentKeyId: string
  readonly #current: Buffer
  readonly #keys = new Map<string, Buffer>()

  /** `currentKeyHex` encrypts and decrypts; each of `previousKeysHex` only decrypts. */
  constructor(currentKeyHex: string, previousKeysHex: readonly string[] = []) {
    this.#current = parseKey(currentKeyHex, 'ALIGN_ENCRYPTION_KEY')
    this.currentKeyId = keyId(this.#current)
    this.#keys.set(this.currentKeyId, this.#current)
    previousKeysHex.forEach((hex, i) => {
      const key = parseKey(hex, `ALIGN_ENCRYPTION_KEYS_PREVIOUS[${i}]`)
      if (!this.#keys.has(keyId(key))) this.#keys.set(keyId(key), key)
    })
  }

  encrypt(plaintext: string, binding: SecretBinding): string {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', this.#current, iv)
    cipher.setAAD(aad(binding))
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
    const tag = cipher.getAuthTag()
    return [VERSION, this.currentKeyId, iv.toString('base64url'), body.toString('base64url'), tag.toString('base64url')].join('.')
  }

  decrypt(ciphertext: string, binding: SecretBinding): string {
    const parts = ciphertext.split('.')
    if (parts.length !== 5 || parts[0] !== VERSION) throw new SecretDecryptError(binding, 'not a v1 ciphertext')
    const [, id, ivText, bodyText, tagText] = parts as [string, string, string, string, string]
    const key = this.#keys.get(id)
    if (!key) throw new SecretDecryptError(binding, `encrypted with key ${id}, which is neither the current nor a previous key`)
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(ivText, 'base64url'))
      decipher.setAAD(aad(binding))
      decipher.setAuthTag(Buffer.from(tagText, 'base64url'))
      return Buffer.concat([decipher.update(Buffer.from(bodyText, 'base64url')), decipher.final()]).toString('utf8')
    } catch {
      throw new SecretDecryptError(binding, 'authentication failed (tampered, or bound to another row or column)')
    }
  }

  /** The key id a ciphertext names, or null when it is not a v1 ciphertext. */
  keyIdOf(ciphertext: string): string | null {
    const parts = ciphertext.split('.')
    return parts.length === 5 && parts[0] === VERSION ? parts[1]! : null
  }

  /** True when the ciphertext was made with a key other than the current one. */
  needsRotation(ciphertext: string): boolean {
    return this.keyIdOf(ciphertext) !== this.currentKeyId
  }

  /** Never print key material. */
  toJSON(): { currentKeyId: string; keyIds: string[] } {
    return { currentKeyId: this.currentKeyId, keyIds: [...this.#keys.keys()] }
  }
}

/** The key ring from ALIGN_ENCRYPTION_KEY and ALIGN_ENCRYPTION_KEYS_PREVIOUS (already validated). */
export function secretBoxFromEnv(env: { ALIGN_ENCRYPTION_KEY: string; ALIGN_ENCRYPTION_KEYS_PREVIOUS?: string | undefined }): SecretBox {
  const previous = env.ALIGN_ENCRYPTION_KEYS_PREVIOUS ? env.ALIGN_ENCRYPTION_KEYS_PREVIOUS.split(',').map((k) => k.trim()).filter(Boolean) : []
  return new SecretBox(env.ALIGN_ENCRYPTION_KEY, previous)
}
