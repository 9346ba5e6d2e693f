// Idempotency-Key records per (organization, key), kept 24 h. Glossary: a *reservation* is made
// when a request with a new key starts; it becomes a *stored response* when the request ends 2xx,
// and is dropped otherwise, so a retry after a 4xx/5xx runs for real.

const TTL_MS = 24 * 60 * 60 * 1000

interface IdempotencyRecord {
  fingerprint: string
  expiresAt: number
  inFlight: boolean
  status: number
  /** The serialized JSON body, or '' for an empty response. */
  body: string
}

export type IdempotencyLookup =
  | { kind: 'new' }
  | { kind: 'in_flight' }
  | { kind: 'mismatch' }
  | { kind: 'replay'; status: number; body: string }

export class IdempotencyStore {
  // A Map keeps insertion order, which is creation order, so expiry prunes from the front.
  private readonly records = new Map<string, IdempotencyRecord>()

  /** Looks the key up and, when it is new, reserves it. */
  begin(organizationId: string, key: string, fingerprint: string, now: number): IdempotencyLookup {
    this.prune(now)
    const id = `${organizationId}\u0000${key}`
    const found = this.records.get(id)
    if (found) {
      if (found.fingerprint !== fingerprint) return { kind: 'mismatch' }
      if (found.inFlight) return { kind: 'in_flight' }
      return { kind: 'replay', status: found.status, body: found.body }
    }
    this.records.set(id, { fingerprint, expiresAt: now + TTL_MS, inFlight: true, status: 0, body: '' })
    return { kind: 'new' }
  }

  complete(organizationId: string, key: string, status: number, body: string): void {
    const record = this.records.get(`${organizationId}\u0000${key}`)
    if (!record) return
    if (status >= 200 && status < 300) {
      record.inFlight = false
      record.status = status
      record.body = body
    } else {
      this.records.delete(`${organizationId}\u0000${key}`)
    }
  }

  release(organizationId: string, key: string): void {
    this.records.delete(`${organizationId}\u0000${key}`)
  }

  clear(): void {
    this.records.clear()
  }

  private prune(now: number): void {
    for (const [id, record] of this.records) {
      if (record.expiresAt > now) break
      if (!record.inFlight) this.records.delete(id)
      else break
    }
  }
}

/** JSON with object keys sorted, so two equal bodies compare equal whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return 'null'
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
}
