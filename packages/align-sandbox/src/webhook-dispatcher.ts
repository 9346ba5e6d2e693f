// Sends webhook deliveries the way Align does: signed, retried with backoff under the same
// delivery id, and recorded. Glossary: a *delivery* is one event for one subscription; an
// *attempt* is one HTTP POST of it. Each subscription has one queue, sent one attempt at a time,
// so the receiver sees events in the order they happened unless the reorderDeliveries fault is on.
import { createHmac, randomUUID } from 'node:crypto'
import { Agent, request } from 'undici'
import type { FaultState } from './faults.js'
import type { Delivery, DeliveryAttempt, WebhookEventName } from './types.js'

export interface DispatchTarget {
  subscriptionId: string
  destinationUrl: string
  hmacSecret: string
}

interface QueuedDelivery {
  delivery: Delivery
  secret: string
  rawBody: string
}

interface SubscriptionQueue {
  items: QueuedDelivery[]
  running: boolean
}

/** Reorder window: deliveries queued within it are sent newest first when reorderDeliveries is on. */
const REORDER_WINDOW_MS = 50

export class WebhookDispatcher {
  private readonly deliveries: Delivery[] = []
  private readonly queues = new Map<string, SubscriptionQueue>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private outstanding = 0
  private waiters: Array<() => void> = []
  private readonly agent = new Agent({ keepAliveTimeout: 4_000, connections: 16 })
  private closed = false

  constructor(
    private readonly options: {
      retryDelaysMs: number[]
      timeoutMs: number
      faults: FaultState
      /** Ids, counts and durations only: never a body or a secret. */
      log: (fields: Record<string, unknown>, message: string) => void
    },
  ) {}

  /** Queues one delivery per target. Synchronous, so an event is queued before its request answers. */
  enqueue(organizationId: string, eventName: WebhookEventName, data: unknown, targets: DispatchTarget[]): void {
    if (this.closed || targets.length === 0) return
    // Serialized once: every target and every retry sends these exact bytes.
    const rawBody = JSON.stringify({ organizationId, data })
    for (const target of targets) {
      const delivery: Delivery = {
        id: randomUUID(),
        subscriptionId: target.subscriptionId,
        organizationId,
        eventName,
        destinationUrl: target.destinationUrl,
        payload: JSON.parse(rawBody) as Delivery['payload'],
        status: 'pending',
        attempts: [],
        createdAt: new Date().toISOString(),
        deliveredAt: null,
      }
      this.deliveries.push(delivery)
      this.outstanding++
      this.push(target.subscriptionId, { delivery, secret: target.hmacSecret, rawBody })
    }
  }

  list(organizationId?: string): Delivery[] {
    const all = organizationId ? this.deliveries.filter((d) => d.organizationId === organizationId) : this.deliveries
    return structuredClone(all)
  }

  /** Resolves when no delivery is queued, waiting for a retry, or in flight. */
  settled(): Promise<void> {
    if (this.outstanding === 0) return Promise.resolve()
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  /** Stops the pending deliveries of a deleted subscription. */
  cancelSubscription(subscriptionId: string): void {
    const queue = this.queues.get(subscriptionId)
    if (queue) queue.items.length = 0
    // Also those waiting for a retry timer or in flight: their outcome is then ignored.
    for (const delivery of this.deliveries) {
      if (delivery.subscriptionId === subscriptionId && delivery.status === 'pending') this.finish(delivery, 'cancelled')
    }
  }

  /** Forgets every delivery and cancels what is pending (control reset). */
  reset(): void {
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
    for (const queue of this.queues.values()) queue.items.length = 0
    for (const delivery of this.deliveries) if (delivery.status === 'pending') this.finish(delivery, 'cancelled')
    this.deliveries.length = 0
    this.queues.clear()
  }

  async close(): Promise<void> {
    this.closed = true
    this.reset()
    await this.agent.close()
  }

  private push(subscriptionId: string, item: QueuedDelivery): void {
    let queue = this.queues.get(subscriptionId)
    if (!queue) this.queues.set(subscriptionId, (queue = { items: [], running: false }))
    queue.items.push(item)
    if (!queue.running) {
      queue.running = true
      const reorder = this.options.faults.current.reorderDeliveries
      this.later(reorder ? REORDER_WINDOW_MS : 0, () => void this.pump(queue, reorder))
    }
  }

  private async pump(queue: SubscriptionQueue, reorder: boolean): Promise<void> {
    try {
      while (queue.items.length && !this.closed) {
        const item = reorder ? queue.items.pop()! : queue.items.shift()!
        if (item.delivery.status !== 'pending') continue
        await this.attempt(item, false)
      }
    } finally {
      queue.running = false
    }
  }

  private async attempt(item: QueuedDelivery, duplicate: boolean): Promise<void> {
    const { delivery } = item
    const number = delivery.attempts.length + 1
    const started = performance.now()
    const record: DeliveryAttempt = { attempt: number, at: new Date().toISOString(), status: null, error: null, durationMs: 0, duplicate }
    try {
      const signature = `sha256=${createHmac('sha256', item.secret).update(item.rawBody).digest('hex')}`
      const response = await request(delivery.destinationUrl, {
        method: 'POST',
        dispatcher: this.agent,
        body: item.rawBody,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Align-Webhooks/1.0 (sandbox)',
          'x-align-delivery-id': delivery.id,
          'x-align-event': delivery.eventName,
          'x-align-timestamp': String(Math.floor(Date.now() / 1000)),
          'x-align-signature': signature,
        },
        signal: AbortSignal.timeout(this.options.timeoutMs),
      })
      await response.body.dump()
      record.status = response.statusCode
      if (response.statusCode < 200 || response.statusCode >= 300) record.error = `receiver answered HTTP ${response.statusCode}`
    } catch (err) {
      record.error = err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${this.options.timeoutMs} ms` : String((err as Error)?.message ?? err)
    }
    record.durationMs = Math.round(performance.now() - started)
    if (delivery.status !== 'pending' && !duplicate) return // reset or cancelled meanwhile
    delivery.attempts.push(record)
    const ok = record.error === null
    this.options.log({ deliveryId: delivery.id, event: delivery.eventName, attempt: number, status: record.status, durationMs: record.durationMs, duplicate }, ok ? 'webhook delivered' : 'webhook delivery failed')
    if (duplicate) return
    if (ok) {
      if (this.options.faults.chance(this.options.faults.current.duplicateDeliveryRate)) await this.attempt(item, true)
      this.finish(delivery, 'delivered')
      return
    }
    const failures = delivery.attempts.filter((a) => !a.duplicate).length
    const delay = this.options.retryDelaysMs[failures - 1]
    if (delay === undefined) {
      this.finish(delivery, 'failed')
      return
    }
    this.later(delay, () => {
      if (delivery.status === 'pending') this.push(delivery.subscriptionId, item)
    })
  }

  private finish(delivery: Delivery, status: 'delivered' | 'failed' | 'cancelled'): void {
    if (delivery.status !== 'pending') return
    delivery.status = status
    if (status === 'delivered') delivery.deliveredAt = new Date().toISOString()
    this.outstanding--
    if (this.outstanding === 0) {
      const waiters = this.waiters
      this.waiters = []
      for (const resolve of waiters) resolve()
    }
  }

  private later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      run()
    }, ms)
    this.timers.add(timer)
  }
}
