// What a handler did with a delivery. Handlers throw only for real failures (the delivery is then
// marked failed and answered 500 so Align retries); everything else is one of these.
export interface EventResult {
  /** applied: something changed; skipped: a known event that changes nothing now; unhandled: no handler. */
  effect: 'applied' | 'skipped' | 'unhandled'
  /** Stored in align_webhook_deliveries.error: a problem someone should look at (the delivery stays processed). */
  note: string | null
  /** Why nothing changed, for the log line (never stored). */
  reason?: string
}

export const applied = (): EventResult => ({ effect: 'applied', note: null })
export const skipped = (reason: string): EventResult => ({ effect: 'skipped', note: null, reason })
export const noted = (note: string): EventResult => ({ effect: 'skipped', note, reason: note })

/** The fields handlers read from a delivery body's `data`: untrusted shapes, read defensively. */
export type EventData = Record<string, unknown>

export function stringField(data: EventData, name: string): string | undefined {
  const value = data[name]
  return typeof value === 'string' && value.length > 0 ? value : undefined
}

export interface ExternalRefData {
  provider: string
  externalType: string
  externalId: string
}

/** data.externalRef when it is a well-formed object, else null. */
export function externalRefOf(data: EventData): ExternalRefData | null {
  const ref = data.externalRef
  if (!ref || typeof ref !== 'object') return null
  const { provider, externalType, externalId } = ref as Record<string, unknown>
  if (typeof provider !== 'string' || typeof externalType !== 'string' || typeof externalId !== 'string' || !externalId) return null
  return { provider, externalType, externalId }
}

/** True for an externalRef that names an Illumera entity of the given type. */
export function isIllumeraRef(ref: ExternalRefData | null, externalType: string): ref is ExternalRefData {
  return ref !== null && ref.provider === 'illumera' && ref.externalType === externalType
}
