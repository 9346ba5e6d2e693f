// Fault injection state. Probabilistic faults draw from a seeded generator (mulberry32), so a
// run can be replayed with `seed`, and rates 0 and 1 are exact: draw() is in [0, 1).
import { SandboxError, validationError } from './errors.js'
import type { Faults } from './types.js'

export const NO_FAULTS: Readonly<Faults> = {
  latencyMs: 0,
  errorRate: 0,
  status: 500,
  failNextRequests: 0,
  rateLimitPerMinute: null,
  dropAfterCommitRate: 0,
  duplicateDeliveryRate: 0,
  reorderDeliveries: false,
  seed: null,
}

export function createRandom(seed: number): () => number {
  let a = seed >>> 0
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function checkRate(faults: Partial<Faults>, field: 'errorRate' | 'dropAfterCommitRate' | 'duplicateDeliveryRate'): void {
  const value = faults[field]
  if (value === undefined) return
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw validationError(field, `${field} must be a number from 0 to 1`)
}

function checkInteger(value: unknown, field: string, min: number, max: number): void {
  if (value === undefined) return
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw validationError(field, `${field} must be an integer from ${min} to ${max}`)
  }
}

const FAULT_FIELDS = new Set(Object.keys(NO_FAULTS))

/** Checks a partial fault setting, naming the first bad field. */
export function validateFaults(input: unknown): Partial<Faults> {
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw validationError('body', 'faults must be a JSON object')
  const faults = input as Partial<Faults>
  for (const key of Object.keys(faults)) {
    if (!FAULT_FIELDS.has(key)) throw validationError(key, `unknown fault ${key}; known: ${[...FAULT_FIELDS].join(', ')}`)
  }
  checkInteger(faults.latencyMs, 'latencyMs', 0, 600_000)
  checkRate(faults, 'errorRate')
  checkRate(faults, 'dropAfterCommitRate')
  checkRate(faults, 'duplicateDeliveryRate')
  checkInteger(faults.status, 'status', 500, 599)
  checkInteger(faults.failNextRequests, 'failNextRequests', 0, 1_000_000)
  if (faults.rateLimitPerMinute !== null) checkInteger(faults.rateLimitPerMinute, 'rateLimitPerMinute', 1, 1_000_000)
  if (faults.reorderDeliveries !== undefined && typeof faults.reorderDeliveries !== 'boolean') {
    throw validationError('reorderDeliveries', 'reorderDeliveries must be a boolean')
  }
  if (faults.seed !== null) checkInteger(faults.seed, 'seed', 0, 2 ** 32 - 1)
  return faults
}

export class FaultState {
  current: Faults = { ...NO_FAULTS }
  private random: () => number = createRandom((Math.random() * 2 ** 32) >>> 0)

  set(input: unknown): Faults {
    const faults = validateFaults(input)
    this.current = { ...this.current, ...faults }
    if (faults.seed !== undefined && faults.seed !== null) this.random = createRandom(faults.seed)
    return { ...this.current }
  }

  clear(): void {
    this.current = { ...NO_FAULTS }
  }

  /** True with probability `rate`: exactly never at 0 and always at 1. */
  chance(rate: number): boolean {
    if (rate <= 0) return false
    if (rate >= 1) return true
    return this.random() < rate
  }

  /** The injected failure for this request, if any (consumes one of failNextRequests). */
  takeInjectedFailure(): SandboxError | null {
    const { failNextRequests, errorRate, status } = this.current
    if (failNextRequests > 0) {
      this.current.failNextRequests = failNextRequests - 1
      return new SandboxError(status, 'internal_error', `injected failure (failNextRequests): HTTP ${status}`)
    }
    if (this.chance(errorRate)) return new SandboxError(status, 'internal_error', `injected failure (errorRate): HTTP ${status}`)
    return null
  }
}
