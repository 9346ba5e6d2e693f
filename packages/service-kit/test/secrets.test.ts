import { describe, expect, it } from 'vitest'
import { SecretBox, SecretDecryptError, secretBoxFromEnv } from '../src/index.js'

const oldKey = '1'.repeat(64)
const newKey = '2'.repeat(64)
const binding = { table: 'align_connections', column: 'encrypted_api_key', rowId: 'conn-1' }
const secret = 'align_live_abcdef0123456789'

describe('SecretBox', () => {
  it('round-trips, with a fresh IV every time', () => {
    const box = new SecretBox(oldKey)
    const a = box.encrypt(secret, binding)
    const b = box.encrypt(secret, binding)
    expect(a).not.toBe(b)
    expect(a).not.toContain(secret)
    expect(a.startsWith(`v1.${box.currentKeyId}.`)).toBe(true)
    expect(box.decrypt(a, binding)).toBe(secret)
  })

  it('detects tampering', () => {
    const box = new SecretBox(oldKey)
    const parts = box.encrypt(secret, binding).split('.')
    const body = Buffer.from(parts[3]!, 'base64url')
    body[0]! ^= 1
    parts[3] = body.toString('base64url')
    expect(() => box.decrypt(parts.join('.'), binding)).toThrow(SecretDecryptError)
    expect(() => box.decrypt('garbage', binding)).toThrow('cannot decrypt align_connections.encrypted_api_key of row conn-1: not a v1 ciphertext')
  })

  it('fails for another row or column, naming the row and never the secret', () => {
    const box = new SecretBox(oldKey)
    const ciphertext = box.encrypt(secret, binding)
    for (const other of [{ ...binding, rowId: 'conn-2' }, { ...binding, column: 'webhook_secret' }]) {
      let error: unknown
      try {
        box.decrypt(ciphertext, other)
      } catch (err) {
        error = err
      }
      expect(error).toBeInstanceOf(SecretDecryptError)
      expect((error as Error).message).toContain(`row ${other.rowId}`)
      expect((error as Error).message).not.toContain(secret)
    }
  })

  it('decrypts with previous keys and encrypts only with the current one', () => {
    const before = new SecretBox(oldKey)
    const ciphertext = before.encrypt(secret, binding)
    const ring = secretBoxFromEnv({ ALIGN_ENCRYPTION_KEY: newKey, ALIGN_ENCRYPTION_KEYS_PREVIOUS: oldKey })
    expect(ring.decrypt(ciphertext, binding)).toBe(secret)
    expect(ring.needsRotation(ciphertext)).toBe(true)
    const rotated = ring.encrypt(secret, binding)
    expect(ring.needsRotation(rotated)).toBe(false)
    expect(() => before.decrypt(rotated, binding)).toThrow(/neither the current nor a previous key/)
    expect(() => new SecretBox(newKey).decrypt(ciphertext, binding)).toThrow(SecretDecryptError)
  })

  it('never serialises key material', () => {
    const box = new SecretBox(oldKey, [newKey])
    const json = JSON.stringify(box)
    expect(json).not.toContain(oldKey)
    expect(json).not.toContain(newKey)
    expect(() => new SecretBox('xyz')).toThrow('ALIGN_ENCRYPTION_KEY: expected 64 hex characters')
  })
})
