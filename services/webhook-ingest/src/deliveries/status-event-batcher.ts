// Group commit for the one-statement path: time status events that arrive while an earlier statement is
// being written go to PostgreSQL together, as one applyStatusEvents statement.
//
// Why: per delivery, most of PostgreSQL's work on that statement is per statement (planning, executor
// start-up of a dozen nodes, the round trip, the commit), not per row; measured on the bench, a statement of
// ~20 deliveries costs PostgreSQL about a fifth per delivery of what one delivery alone costs.
//
// When: with no statement running, a delivery is sent at once (nothing waits for a timer when there is no
// concurrency). While one runs, deliveries queue and the next statement takes them all when it ends. Another
// statement starts beside it only when the queue would fill a statement, or when the oldest delivery has
// waited `maxWaitMs` (a statement stuck on a row lock does not hold up the rest), up to `maxInFlight`.
// Each delivery is answered only after its statement committed.
//
// One statement never holds two deliveries with the same delivery id, the same body (of one connection) or
// the same Align entry id or externalRef: those wait for a later statement, so copies, replays and
// successive events of one entry see each other's commits as they do one statement each.
import type { Database } from '@illumera/db-schema'
import type { Kysely } from 'kysely'
import { applyStatusEvents, type StatusEventOutcome, type StatusEventStatement } from './deliveries.queries.js'

export interface StatusEventBatcherOptions {
  /** Most deliveries in one statement (default 64). */
  maxSize?: number
  /** Most statements running at once (default 4; each holds one pooled connection). */
  maxInFlight?: number
  /** How long a delivery waits for a running statement before another one starts beside it (default 20 ms). */
  maxWaitMs?: number
  /** Told the number of deliveries of each statement sent (a metric). */
  onStatement?: (deliveries: number) => void
}

interface Pending {
  statement: StatusEventStatement
  queuedAt: number
  /** undefined: nothing was written for it, the caller takes the transactional path. */
  resolve: (outcome: StatusEventOutcome | undefined) => void
  reject: (err: unknown) => void
}

export class StatusEventBatcher {
  readonly maxSize: number
  readonly maxInFlight: number
  readonly maxWaitMs: number
  private readonly onStatement: (deliveries: number) => void
  private queue: Pending[] = []
  private inFlight = 0
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly db: Kysely<Database>, options: StatusEventBatcherOptions = {}) {
    this.maxSize = options.maxSize ?? 64
    this.maxInFlight = options.maxInFlight ?? 4
    this.maxWaitMs = options.maxWaitMs ?? 20
    this.onStatement = options.onStatement ?? (() => {})
    for (const [name, value] of [['maxSize', this.maxSize], ['maxInFlight', this.maxInFlight]] as const) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`StatusEventBatcher: ${name} must be a positive integer`)
    }
    if (!(this.maxWaitMs >= 0)) throw new RangeError('StatusEventBatcher: maxWaitMs must be 0 or more')
  }

  /**
   * The outcome of one delivery's part of a statement; undefined when its statement failed as a whole
   * (nothing was written: the caller takes the transactional path). A statement of one delivery that
   * fails rejects with the error, as its own statement would.
   */
  apply(statement: StatusEventStatement): Promise<StatusEventOutcome | undefined> {
    return new Promise((resolve, reject) => {
      this.queue.push({ statement, queuedAt: performance.now(), resolve, reject })
      this.pump()
    })
  }

  private mayStart(): boolean {
    if (this.queue.length === 0 || this.inFlight >= this.maxInFlight) return false
    return this.inFlight === 0 || this.queue.length >= this.maxSize || performance.now() - this.queue[0]!.queuedAt >= this.maxWaitMs
  }

  private pump(): void {
    while (this.mayStart()) {
      const batch = this.take()
      this.inFlight++
      void this.run(batch).finally(() => {
        this.inFlight--
        this.pump()
      })
    }
    // Deliveries left waiting behind a running statement: look again when the oldest has waited long enough.
    if (this.timer === undefined && this.queue.length > 0 && this.inFlight < this.maxInFlight) {
      const wait = Math.max(0, this.maxWaitMs - (performance.now() - this.queue[0]!.queuedAt))
      this.timer = setTimeout(() => {
        this.timer = undefined
        this.pump()
      }, wait)
    }
  }

  /** The oldest deliveries that may share a statement; the others keep their place in the queue. */
  private take(): Pending[] {
    if (this.queue.length === 1) return this.queue.splice(0, 1)
    const batch: Pending[] = []
    const rest: Pending[] = []
    const seen = new Set<string>()
    for (const pending of this.queue) {
      const keys = conflictKeys(pending.statement)
      if (batch.length >= this.maxSize || keys.some((k) => seen.has(k))) {
        rest.push(pending)
        continue
      }
      for (const k of keys) seen.add(k)
      batch.push(pending)
    }
    this.queue = rest
    return batch
  }

  private async run(batch: Pending[]): Promise<void> {
    this.onStatement(batch.length)
    let outcomes: StatusEventOutcome[]
    try {
      outcomes = await applyStatusEvents(this.db, batch.map((p) => p.statement))
    } catch (err) {
      if (batch.length === 1) batch[0]!.reject(err)
      // The statement rolled back as a whole (one bad delivery, a deadlock): each delivery goes its own way.
      else for (const p of batch) p.resolve(undefined)
      return
    }
    batch.forEach((p, i) => p.resolve(outcomes[i]))
  }
}

function conflictKeys(s: StatusEventStatement): string[] {
  const c = s.record.connection
  const keys = [`delivery:${s.record.deliveryId}`, `body:${c.id}:${s.record.bodySha256}`]
  if (s.alignEntryId !== null) keys.push(`align:${c.tenant_id}:${s.alignEntryId}`)
  if (s.illumeraEntryId !== null) keys.push(`entry:${c.tenant_id}:${s.illumeraEntryId}`)
  return keys
}
