// A short-lived in-memory cache of receiving connections (by organisation or path token) and of their
// decrypted webhook secrets (by ciphertext), so a delivery costs no connection query and no decrypt.
//
// It never decides alone: a delivery verified against a cached connection is accepted only if the
// fast path's first statement finds that connection row unchanged (same updated_at, still receiving) in
// the same transaction; otherwise the entry is dropped and the delivery is verified again from the
// database. A refusal (404/401/stale) from cached data is likewise re-checked against a fresh look-up.
import type { ReceivingConnection } from './deliveries.queries.js'

export interface ConnectionCacheOptions {
  /** How long a look-up is reused (default 5 s). 0 disables the cache. */
  ttlMs?: number
  /** Largest number of look-ups and of decrypted secrets kept (default 1000 each). */
  maxEntries?: number
  /** Monotonic milliseconds (tests pass their own). */
  clock?: () => number
}

export class ConnectionCache {
  readonly ttlMs: number
  private readonly maxEntries: number
  private readonly clock: () => number
  private readonly lookups = new Map<string, { connections: ReceivingConnection[]; expiresAt: number }>()
  private readonly plaintexts = new Map<string, string>()

  constructor(options: ConnectionCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 5_000
    this.maxEntries = options.maxEntries ?? 1_000
    this.clock = options.clock ?? (() => performance.now())
  }

  /** The cached look-up, or undefined when absent or expired. */
  get(key: string): ReceivingConnection[] | undefined {
    const hit = this.lookups.get(key)
    if (!hit) return undefined
    if (hit.expiresAt <= this.clock()) {
      this.lookups.delete(key)
      return undefined
    }
    return hit.connections
  }

  set(key: string, connections: ReceivingConnection[]): void {
    if (this.ttlMs <= 0) return
    if (this.lookups.size >= this.maxEntries) this.lookups.clear()
    this.lookups.set(key, { connections, expiresAt: this.clock() + this.ttlMs })
  }

  delete(key: string): void {
    this.lookups.delete(key)
  }

  /** A decrypted secret, keyed by its ciphertext (bound to the row id and column, so unique per secret). */
  plaintext(ciphertext: string, decrypt: () => string): string {
    const known = this.plaintexts.get(ciphertext)
    if (known !== undefined) return known
    const plain = decrypt()
    if (this.ttlMs > 0) {
      if (this.plaintexts.size >= this.maxEntries) this.plaintexts.clear()
      this.plaintexts.set(ciphertext, plain)
    }
    return plain
  }
}

export function connectionCacheKey(organizationId: string, pathToken: string | undefined): string {
  return pathToken === undefined ? `org:${organizationId}` : `token:${pathToken}`
}
