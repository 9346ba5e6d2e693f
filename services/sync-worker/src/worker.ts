// createSyncWorker: claims outbox rows, calls Align outside any transaction, finishes each row under its
// lease. runOnce() is one claim-and-process cycle with time passed in (tests drive it); start()/stop() run
// the long-lived loop: LISTEN/NOTIFY wake-ups, a poll fallback, `concurrency` rows in flight, lease
// heartbeats, expired-lease recovery, retention, and a graceful drain on stop.
//
// Glossary: see outbox/outbox.queries.ts (claim, lease, attempt, family, dependency wait, dead letter).
// - unit: one claimed head row plus the pending upserts of the same entity coalesced behind it (one Align
//   call with the latest payload), or up to 50 unlinked user upserts of one connection (one bulk invite).
import { createHash, randomUUID } from 'node:crypto'
import {
  AlignApiError, AlignAuthError, AlignConflictError, AlignNotFoundError, AlignRateLimitError, AlignValidationError, MAX_BULK_INVITES,
  type AlignGateway,
} from '@illumera/align-gateway'
import { msUntilGrant, paceIntervalMs, pauseConnection, readAlignBudget, takeAlignBudget } from '@illumera/align-rate-budget'
import { type AlignSyncOutboxRow, type Database, OUTBOX_NOTIFY_CHANNEL } from '@illumera/db-schema'
import type { Kysely } from 'kysely'
import pg from 'pg'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { createMappingSource, mappingForRow } from './outbox/field-mappings.js'
import { COALESCING_TYPES, type HandlerContext, handlers, type Outcome, PermanentSyncError, userInvite } from './outbox/handlers.js'
import { createLinkLoader } from './outbox/link-loader.js'
import { createSyncMetrics, type SyncMetrics } from './outbox/metrics.js'
import { createPriorityGate } from './outbox/priority-gate.js'
import { createSlotShare } from './outbox/slot-share.js'
import {
  attachRowsToLease, type ClaimedRow, type ClaimOptions, claimDueOutboxRows, type ConnectionRow, deleteDoneOutboxRows, dropLinksHoldingAlignIds, extendLease, failOutboxRows, familyOf,
  findConnections, findLinks, findRowsBehind, type FinishDone, finishOutboxRows, finishOutboxRowsBatch, isTimeEntryFamily, markConnectionKeyRejected, wakeWaitingRows,
  notifyOutbox, parkOutboxRows, readOutboxDepth, releaseExpiredLeases, releaseOutboxRows, resolveOutboxConnections,
} from './outbox/outbox.queries.js'

export interface SyncWorkerOptions {
  /** Rows (units) in flight at once in start() mode; also runOnce()'s claim size. Default 20. */
  concurrency: number
  /** Rows of one connection per claim (fairness). Default 10. */
  perConnectionClaim: number
  /** Poll when no NOTIFY arrives. Default 2000. */
  pollIntervalMs: number
  /** Lease length; renewed every third of it while a call runs. Default 10 min. */
  leaseMs: number
  /** Backoff after each failed attempt; one more failure after the last delay is a dead letter. */
  retryDelaysMs: number[]
  /** A parked row is looked at again after this long even if no wake-up came (links written elsewhere). */
  dependencyRecheckMs: number
  /** Align's per-key limit (0: no pacing, for a sandbox without limits). Default 600. */
  rateLimitPerMinute: number
  /** Grants of one key that may go out at once before pacing spaces them (default: 7.5% of the limit, see align-rate-budget). */
  rateBurst?: number
  /** Done rows older than this are deleted. Default 7 days. */
  retentionMs: number
  retentionIntervalMs: number
  retentionBatch: number
  /** Expired leases are looked for at most this often in start() mode. Default 5000. */
  maintenanceIntervalMs: number
}

export const DEFAULT_SYNC_WORKER_OPTIONS: SyncWorkerOptions = {
  concurrency: 20,
  perConnectionClaim: 10,
  pollIntervalMs: 2000,
  leaseMs: 10 * 60_000,
  retryDelaysMs: [60_000, 5 * 60_000, 30 * 60_000, 2 * 60 * 60_000, 8 * 60 * 60_000],
  dependencyRecheckMs: 60_000,
  rateLimitPerMinute: 600,
  retentionMs: 7 * 24 * 60 * 60_000,
  retentionIntervalMs: 10 * 60_000,
  retentionBatch: 500,
  maintenanceIntervalMs: 5000,
}

export interface SyncWorkerDeps {
  db: Kysely<Database>
  gatewayFor: (connection: ConnectionRow) => AlignGateway
  logger: Logger
  metrics?: Registry
  clock?: () => Date
  /** Overrides the sampled "event loop is busy" flag of the priority gate and the slot share (tests). */
  loopBusy?: () => boolean
  /** Needed by start() for LISTEN (a dedicated client, not a pool connection). */
  databaseUrl?: string
  options?: Partial<SyncWorkerOptions>
}

export interface RunSummary {
  claimed: number
  done: number
  failed: number
  retried: number
  waiting: number
}

interface Unit {
  kind: 'single' | 'bulk_invite'
  head: ClaimedRow
  /** Rows finished together: the head and its coalesced followers, or every row of a bulk invite. */
  rows: ClaimedRow[]
  payload: unknown
  leaseToken: string
  /** Its connection has nothing else in hand: its statements go out at once, not at the end of the turn, and a backlog gives way to it. */
  urgent?: boolean
  /** Its connection has more in hand (a backlog): it gives way to urgent units on a busy loop (priority-gate.ts). */
  bulk?: boolean
}

/** A grant at most this far ahead is reserved and waited for in place (more if one connection's slots need it, below). */
const MIN_BUDGET_HORIZON_MS = 1000
/** A backlog's unit holds a step at most this long for a single row of another tenant (priority-gate.ts). */
const PRIORITY = { holdMs: 20, busyUtilization: 0.75, sampleMs: 20 }
/** Another connection counts as active this long after its last unit (slot-share.ts): a tenant writing a row every few hundred ms stays active between them. */
const ACTIVE_WINDOW_MS = 1000

class BudgetDeniedError extends Error {
  override name = 'BudgetDeniedError'
  /** `retryAt`: when to claim the row again (a paused connection's end, or a horizon before the next free grant). */
  constructor(readonly retryAt: Date, readonly reason: 'budget' | 'paused') {
    super(`Align rate budget: ${reason === 'paused' ? 'connection paused' : 'no grant free soon enough'}; claimed again at ${retryAt.toISOString()}`)
  }
}

type Outcomes = RunSummary

export function createSyncWorker(deps: SyncWorkerDeps) {
  const o: SyncWorkerOptions = { ...DEFAULT_SYNC_WORKER_OPTIONS, ...deps.options }
  const db = deps.db
  const clock = deps.clock ?? (() => new Date())
  const log = deps.logger.child({ component: 'outbox' })
  const metrics: SyncMetrics | null = deps.metrics ? createSyncMetrics(deps.metrics, () => readOutboxDepth(db)) : null
  const maxAttempts = o.retryDelaysMs.length + 1
  const mappingSource = createMappingSource(db)
  const linkLoader = createLinkLoader(db)
  const priority = createPriorityGate({ ...PRIORITY, isBusy: deps.loopBusy })
  let cursor = ''
  // How many slots one connection may hold: all but a tenth alone, a quarter while another connection is active.
  const slots = createSlotShare({ concurrency: o.concurrency, activeWindowMs: ACTIVE_WINDOW_MS })
  // How far ahead a grant is reserved and waited for in place: enough for every slot one connection may hold here
  // (18 × 102 ms at 600/min), so a paced backlog's units each hold their own moment instead of being released and
  // claimed again; at least a second.
  const budgetHorizonMs = o.rateLimitPerMinute > 0
    ? Math.max(MIN_BUDGET_HORIZON_MS, Math.ceil(slots.alone * paceIntervalMs({ limitPerMinute: o.rateLimitPerMinute })))
    : 0
  // The earliest moment a paused connection (budget or 429) may go again: the loop sleeps no longer than that.
  let earliestResume: number | null = null
  const noteResume = (at: Date) => { earliestResume = Math.min(earliestResume ?? Infinity, at.getTime()) }

  // ── claiming ──

  interface Claim {
    units: Unit[]
    connections: Map<string, ConnectionRow>
  }

  async function claimUnits(limit: number, now: Date, scope: Pick<ClaimOptions, 'onlyConnections' | 'excludeConnections'> = {}): Promise<Claim> {
    const leaseToken = randomUUID()
    const claimed = await claimDueOutboxRows(db, { now, leaseToken, leaseMs: o.leaseMs, limit, perConnection: o.perConnectionClaim, cursor, ...scope })
    if (claimed.length === 0) return { units: [], connections: new Map() }
    const connectionIds = [...new Set(claimed.map((r) => r.connection_id!))].sort()
    cursor = connectionIds.find((id) => id > cursor) ?? connectionIds[0]!
    const connections = new Map<string, ConnectionRow>()
    for (const r of claimed) {
      // The claim read each connection's field mappings: the handlers need no read of their own.
      if (r.connection_field_mappings != null && r.connection_read_at) mappingSource.prime(r.connection_id!, r.connection_field_mappings, r.connection_read_at)
      if (connections.has(r.connection_id!) || r.connection_status === undefined) continue
      connections.set(r.connection_id!, {
        id: r.connection_id!, tenant_id: r.tenant_id, company_id: r.company_id, status: r.connection_status,
        encrypted_api_key: r.connection_encrypted_api_key!, paused_until: r.connection_paused_until ?? null,
      })
    }
    const missing = connectionIds.filter((id) => !connections.has(id))
    for (const c of await findConnections(db, missing)) connections.set(c.id, c)

    // Unlinked user upserts of one connection go out as one bulk invite: top the group up to 50.
    const users = claimed.filter((r) => r.entity_type === 'user' && r.operation === 'upsert')
    const userLinks = new Set<string>()
    for (const tenantId of new Set(users.map((r) => r.tenant_id))) {
      const found = await findLinks(db, tenantId, users.filter((r) => r.tenant_id === tenantId).map((r) => ({ type: 'user', id: r.local_id })))
      for (const l of found) userLinks.add(`${tenantId}:${l.external_id}`)
    }
    const unlinked = users.filter((r) => !userLinks.has(`${r.tenant_id}:${r.local_id}`))
    for (const connectionId of new Set(unlinked.map((r) => r.connection_id!))) {
      const have = unlinked.filter((r) => r.connection_id === connectionId).length
      if (have >= MAX_BULK_INVITES || have < 1) continue
      const more = await claimDueOutboxRows(db, {
        now, leaseToken, leaseMs: o.leaseMs, limit: MAX_BULK_INVITES - have, perConnection: MAX_BULK_INVITES - have, cursor: '', onlyUsersOf: connectionId,
      })
      const moreLinked = new Set((await findLinks(db, more[0]?.tenant_id ?? '', more.map((r) => ({ type: 'user', id: r.local_id })))).map((l) => l.external_id))
      for (const r of more) {
        claimed.push(r)
        if (!moreLinked.has(r.local_id)) unlinked.push(r)
      }
    }
    for (const r of claimed) metrics?.claimed.inc({ entity_type: r.entity_type })

    // Coalescing: the pending upserts right behind a head (same entity, nothing else of its family between).
    const heads = claimed.filter((r) => r.operation === 'upsert' && COALESCING_TYPES.includes(r.entity_type) && r.has_followers !== false)
    const behind = await findRowsBehind(db, heads, [...new Set(heads.flatMap((h) => familyOf(h.entity_type)))])
    const followers = new Map<string, AlignSyncOutboxRow[]>()
    for (const head of heads) {
      const family = familyOf(head.entity_type)
      const run: AlignSyncOutboxRow[] = []
      for (const r of behind) {
        if (r.tenant_id !== head.tenant_id || r.local_id !== head.local_id || !family.includes(r.entity_type) || Number(r.seq) <= Number(head.seq)) continue
        if (r.entity_type !== head.entity_type || r.operation !== 'upsert') break
        run.push(r)
      }
      if (run.length) followers.set(head.id, run)
    }
    const expires = new Date(now.getTime() + o.leaseMs)
    const attached = new Set(await attachRowsToLease(db, [...followers.values()].flat().map((r) => r.id), leaseToken, expires))

    const units: Unit[] = []
    const unlinkedIds = new Set(unlinked.map((r) => r.id))
    const rowsOf = (head: ClaimedRow): { rows: ClaimedRow[]; payload: unknown } => {
      const run = (followers.get(head.id) ?? []).filter((r) => attached.has(r.id)).map((r) => ({ ...r, prev_attempt_at: r.last_attempt_at }))
      return { rows: [head, ...run], payload: run.length ? run[run.length - 1]!.payload : head.payload }
    }
    const bulkByConnection = new Map<string, ClaimedRow[]>()
    for (const r of claimed) {
      if (unlinkedIds.has(r.id)) {
        const list = bulkByConnection.get(r.connection_id!) ?? []
        list.push(r)
        bulkByConnection.set(r.connection_id!, list)
        continue
      }
      units.push({ kind: 'single', head: r, ...rowsOf(r), leaseToken })
    }
    for (const list of bulkByConnection.values()) {
      if (list.length === 1) {
        units.push({ kind: 'single', head: list[0]!, ...rowsOf(list[0]!), leaseToken })
        continue
      }
      for (let i = 0; i < list.length; i += MAX_BULK_INVITES) {
        const chunk = list.slice(i, i + MAX_BULK_INVITES)
        units.push({ kind: 'bulk_invite', head: chunk[0]!, rows: chunk, payload: null, leaseToken })
      }
    }
    return { units, connections }
  }

  // ── waking parked rows: batched, always after the finishes that wrote the links committed ──

  let wakeQueue: Array<{ tenantId: string; key: string }> = []
  let wakeAt = new Date(0)
  let wakeBatchOpen = false
  // Every flush until its statement has committed: runOnce() and stop() wait for all of them, so a cycle
  // never ends while a parked row's wake-up is still on its way (the next claim would miss that row).
  const wakeFlushes = new Set<Promise<void>>()

  function queueWake(tenantId: string, keys: string[], now: Date): void {
    for (const key of keys) wakeQueue.push({ tenantId, key })
    if (now > wakeAt) wakeAt = now
    if (wakeBatchOpen) return
    // A few milliseconds of batching: one statement wakes for many finishes.
    wakeBatchOpen = true
    const flush: Promise<void> = new Promise<void>((resolve) => setTimeout(resolve, 5))
      .then(flushWakes)
      .finally(() => wakeFlushes.delete(flush))
    wakeFlushes.add(flush)
  }

  async function flushWakes(): Promise<void> {
    const keys = wakeQueue
    const at = wakeAt
    wakeQueue = []
    wakeAt = new Date(0)
    wakeBatchOpen = false
    if (keys.length === 0) return
    try {
      const connections = await wakeWaitingRows(db, keys, at)
      for (const connectionId of connections) await notifyOutbox(db, OUTBOX_NOTIFY_CHANNEL, connectionId)
      if (connections.length) wake()
    } catch (err) {
      // The parked rows' recheck time still brings them back.
      log.warn({ err: { message: (err as Error).message } }, 'waking parked rows failed')
    }
  }

  async function drainWakes(): Promise<void> {
    while (wakeFlushes.size > 0) await Promise.all(wakeFlushes)
  }

  // ── finishing: batched into one statement per tick, like graphile-worker's completion batching ──

  let finishQueue: Array<{ finish: FinishDone; resolve: (r: { finished: boolean }) => void; reject: (err: unknown) => void }> = []
  let finishScheduled = false

  function finishBatched(finish: FinishDone, urgent = false): Promise<{ finished: boolean }> {
    return new Promise((resolve, reject) => {
      finishQueue.push({ finish, resolve, reject })
      if (urgent || finishQueue.length >= 100) void flushFinishes()
      else if (!finishScheduled) {
        finishScheduled = true
        setImmediate(() => void flushFinishes())
      }
    })
  }

  async function flushFinishes(): Promise<void> {
    finishScheduled = false
    const batch = finishQueue
    finishQueue = []
    if (batch.length === 0) return
    if (batch.length > 1) {
      try {
        const done = await finishOutboxRowsBatch(db, batch.map((b) => b.finish))
        for (const b of batch) b.resolve({ finished: b.finish.ids.every((id) => done.has(id)) })
        return
      } catch {
        // One unit's conflict fails the batch: finish each on its own, so only that unit sees its error.
      }
    }
    await Promise.all(batch.map(async (b) => {
      try {
        b.resolve(await finishOutboxRows(db, b.finish))
      } catch (err) {
        b.reject(err)
      }
    }))
  }

  // ── processing one unit ──

  async function callAlign<T>(connection: ConnectionRow, gateway: AlignGateway, operation: string, fn: (g: AlignGateway) => Promise<T>): Promise<T> {
    // Pacing off (a sandbox without limits): the claim already skipped paused connections.
    if (o.rateLimitPerMinute > 0) {
      // The budget paces a connection's grants (a small burst, then one per interval) and reserves each unit its
      // own moment within the horizon: the unit waits for it in place, keeping its claim; concurrent units never
      // race for the same moment. Nothing free within the horizon (a backlog using more slots than the pace needs,
      // or the window spent): the connection pauses until a horizon before the next free moment, so the rows
      // claimed then can reserve it, and this unit's rows go back until then.
      const budget = await takeAlignBudget(db, connection.id, clock(), { limitPerMinute: o.rateLimitPerMinute, burst: o.rateBurst, reserveWithinMs: budgetHorizonMs })
      if (!budget.granted) {
        const retryAt = budget.reason === 'budget' ? new Date(budget.retryAt.getTime() - budgetHorizonMs) : budget.retryAt
        throw new BudgetDeniedError(retryAt, budget.reason)
      }
      metrics?.budgetRemaining.set({ connection_id: connection.id }, budget.remaining)
      const waitMs = msUntilGrant(budget, clock())
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs))
    }
    const started = performance.now()
    let outcome = 'ok'
    try {
      return await fn(gateway)
    } catch (err) {
      outcome = err instanceof AlignApiError ? String(err.status) : 'error'
      throw err
    } finally {
      metrics?.alignCall.observe({ operation, outcome }, (performance.now() - started) / 1000)
    }
  }

  // A backlog's unit holds each next step while a single row of another tenant goes through a busy loop.
  function yieldToUrgent(unit: Unit): Promise<void> | undefined {
    return unit.bulk ? priority.hold() : undefined
  }

  function heartbeat(unit: Unit): () => void {
    const ids = unit.rows.map((r) => r.id)
    const timer = setInterval(() => {
      extendLease(db, ids, unit.leaseToken, new Date(clock().getTime() + o.leaseMs)).catch((err: Error) => log.warn({ err: { message: err.message } }, 'lease heartbeat failed'))
    }, Math.max(50, Math.floor(o.leaseMs / 3)))
    timer.unref()
    return () => clearInterval(timer)
  }

  async function processUnit(unit: Unit, connection: ConnectionRow | undefined, now: Date, tally: Outcomes): Promise<void> {
    const { head } = unit
    const ids = unit.rows.map((r) => r.id)
    const started = performance.now()
    const fields = { rowId: head.id, entityType: head.entity_type, operation: head.operation, attempt: head.attempts + 1, rows: ids.length, kind: unit.kind }
    const retried = (reason: string) => {
      tally.retried += ids.length
      for (const r of unit.rows) metrics?.retried.inc({ entity_type: r.entity_type, reason })
    }
    if (!connection || connection.status !== 'active') {
      await releaseOutboxRows(db, { ids, prevAttemptAt: unit.rows.map((r) => r.prev_attempt_at), leaseToken: unit.leaseToken, at: now, reason: 'connection is not active' })
      retried('connection_inactive')
      return
    }
    const stopHeartbeat = heartbeat(unit)
    try {
      let outcome: Outcome | Array<{ row: ClaimedRow; outcome: Outcome | Error }>
      try {
        const gateway = deps.gatewayFor(connection)
        outcome = unit.kind === 'bulk_invite'
          ? await bulkInvite(unit, connection, gateway)
          : await runHandler(unit, connection, gateway, now)
      } catch (err) {
        await handleFailure(unit, connection, err, now, fields, tally, retried)
        return
      }
      const items = Array.isArray(outcome) ? outcome : [{ row: head, outcome }]
      for (const item of items) {
        const rows = Array.isArray(outcome) ? [item.row] : unit.rows
        const one: Unit = { ...unit, head: item.row, rows }
        if (item.outcome instanceof Error) {
          await handleFailure(one, connection, item.outcome, now, { ...fields, rowId: item.row.id, rows: 1 }, tally, retried)
          continue
        }
        await applyOutcome(one, connection, item.outcome, now, fields, tally, retried)
      }
      log.info({ ...fields, durationMs: Math.round(performance.now() - started) }, 'outbox unit processed')
    } finally {
      stopHeartbeat()
    }
  }

  async function runHandler(unit: Unit, connection: ConnectionRow, gateway: AlignGateway, now: Date): Promise<Outcome> {
    const handler = handlers[unit.head.entity_type]
    if (!handler) throw new PermanentSyncError(`unknown entity type ${unit.head.entity_type}`)
    const tenantId = unit.head.tenant_id
    const ctx: HandlerContext = {
      tenantId, now, row: unit.head, payload: unit.payload,
      recovering: unit.head.prev_attempt_at !== null || unit.head.attempts > 0,
      call: async (operation, fn) => { await yieldToUrgent(unit); return callAlign(connection, gateway, operation, fn) },
      mapping: mappingForRow(mappingSource, unit.head),
      links: async (keys, membershipOf) => { await yieldToUrgent(unit); return linkLoader.links(tenantId, keys, unit.urgent, membershipOf) },
    }
    return handler(ctx)
  }

  async function bulkInvite(unit: Unit, connection: ConnectionRow, gateway: AlignGateway): Promise<Array<{ row: ClaimedRow; outcome: Outcome | Error }>> {
    // The role mapping read fresh enough for the newest row of the batch.
    const mappings = await mappingSource.fieldMappings(connection.id, new Date(Math.max(...unit.rows.map((r) => r.created_at.getTime()))))
    const prepared: Array<{ row: ClaimedRow; invite: ReturnType<typeof userInvite> | null; error: Error | null }> = unit.rows.map((row) => {
      try {
        return { row, invite: userInvite(row.local_id, row.payload, mappings), error: null }
      } catch (err) {
        return { row, invite: null, error: err as Error }
      }
    })
    const sendable = prepared.filter((p) => p.invite)
    const results: Array<{ row: ClaimedRow; outcome: Outcome | Error }> = prepared.filter((p) => p.error).map((p) => ({ row: p.row, outcome: p.error! }))
    if (sendable.length === 0) return results
    // The key names the batch: a retry of the same rows replays; Align dedups invites by email anyway.
    const idempotencyKey = `bulk-invite:${sendable.map((p) => p.row.id).sort().join(',')}`.slice(0, 255)
    const response = await callAlign(connection, gateway, 'bulkInviteUsers', (g) => g.bulkInviteUsers(
      { invites: sendable.map((p) => p.invite!), sendInvite: false }, { idempotencyKey: hashKey(idempotencyKey) }))
    sendable.forEach((p, i) => {
      const r = response.results[i]
      if (r?.userId) {
        results.push({ row: p.row, outcome: { kind: 'done', links: [{ externalType: 'user', externalId: p.row.local_id, alignEntityType: 'user', alignEntityId: r.userId }], deleteLinks: [], wake: [`user:${p.row.local_id}`] } })
      } else {
        results.push({ row: p.row, outcome: new PermanentSyncError(`bulk invite refused this user: ${r?.error?.code ?? 'no result'}${r?.error?.message ? `: ${r.error.message}` : ''}`) })
      }
    })
    return results
  }

  async function applyOutcome(unit: Unit, connection: ConnectionRow, outcome: Outcome, now: Date, fields: Record<string, unknown>, tally: Outcomes, retried: (reason: string) => void): Promise<void> {
    const { head } = unit
    const ids = unit.rows.map((r) => r.id)
    if (outcome.kind === 'wait') {
      await parkOutboxRows(db, { ids, prevAttemptAt: unit.rows.map((r) => r.prev_attempt_at), leaseToken: unit.leaseToken, tenantId: head.tenant_id, now, recheckAt: new Date(now.getTime() + o.dependencyRecheckMs), target: outcome.target, reason: outcome.reason })
      tally.waiting += ids.length
      retried('dependency')
      log.debug({ ...fields, waitingFor: outcome.target.key }, 'outbox row waits for a dependency')
      return
    }
    const finish = {
      ids, leaseToken: unit.leaseToken, now, tenantId: head.tenant_id, companyId: head.company_id, connectionId: connection.id,
      links: outcome.links, deleteLinks: outcome.deleteLinks, wake: outcome.wake,
      timeEntryId: isTimeEntryFamily(head.entity_type) ? head.local_id : null,
    }
    let result: { finished: boolean }
    try {
      await yieldToUrgent(unit)
      result = await finishBatched(finish, unit.urgent)
    } catch (err) {
      if ((err as { code?: unknown }).code !== '23505') throw err
      const memberships = outcome.links.filter((l) => l.alignEntityType === 'project_member')
      if (memberships.length === 0) {
        // Another Illumera entity already holds this Align entity (e.g. two users with one email): a dead letter.
        await handleFailure(unit, connection, err, now, fields, tally, retried)
        return
      }
      result = await db.transaction().execute(async (trx) => {
        await dropLinksHoldingAlignIds(trx, head.tenant_id, memberships)
        return finishOutboxRows(trx, finish)
      })
    }
    if (!result.finished) {
      retried('lease_lost')
      log.warn({ ...fields }, 'outbox row finished by a worker whose lease had expired: result discarded')
      return
    }
    tally.done += ids.length
    for (const r of unit.rows) metrics?.done.inc({ entity_type: r.entity_type })
    if (outcome.wake.length) queueWake(head.tenant_id, outcome.wake, now)
  }

  async function handleFailure(unit: Unit, connection: ConnectionRow, err: unknown, now: Date, fields: Record<string, unknown>, tally: Outcomes, retried: (reason: string) => void): Promise<void> {
    const ids = unit.rows.map((r) => r.id)
    const leaseToken = unit.leaseToken
    if (err instanceof BudgetDeniedError) {
      if (err.reason === 'budget') await pauseConnection(db, connection.id, err.retryAt)
      noteResume(err.retryAt)
      await releaseOutboxRows(db, { ids, prevAttemptAt: unit.rows.map((r) => r.prev_attempt_at), leaseToken, at: err.retryAt, reason: err.message })
      retried('rate_budget')
      await releaseQueuedOf(connection.id, err.retryAt, err.message, 'rate_budget')
      return
    }
    if (err instanceof AlignRateLimitError) {
      const until = new Date(clock().getTime() + err.retryAfterMs)
      const reason = `Align answered 429; connection paused until ${until.toISOString()}`
      await pauseConnection(db, connection.id, until)
      noteResume(until)
      await releaseOutboxRows(db, { ids, prevAttemptAt: unit.rows.map((r) => r.prev_attempt_at), leaseToken, at: until, reason })
      retried('rate_limited')
      await releaseQueuedOf(connection.id, until, reason, 'rate_limited')
      log.warn({ ...fields, retryAfterSeconds: err.retryAfterSeconds }, 'Align rate limit hit: connection paused')
      return
    }
    if (err instanceof AlignAuthError || (err instanceof Error && err.name === 'SecretDecryptError')) {
      const message = err instanceof AlignAuthError
        ? `Align rejected the API key (HTTP ${err.status}: expired or revoked); rotate it with PATCH /api/align/connections`
        : 'the stored Align API key cannot be decrypted with ALIGN_ENCRYPTION_KEY; rotate it with PATCH /api/align/connections'
      await markConnectionKeyRejected(db, connection.id, now, message)
      await releaseOutboxRows(db, { ids, prevAttemptAt: unit.rows.map((r) => r.prev_attempt_at), leaseToken, at: now, reason: message })
      retried('key_rejected')
      log.error({ ...fields, connectionId: connection.id }, 'Align API key rejected: connection set to error')
      return
    }
    const permanent = err instanceof PermanentSyncError || err instanceof AlignValidationError || err instanceof AlignNotFoundError
      || (err instanceof AlignConflictError && err.code !== 'idempotency_key_in_use')
      || (typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505')
    const message = describe(err)
    const result = await failOutboxRows(db, {
      ids, leaseToken, now, tenantId: unit.head.tenant_id, connectionId: connection.id, attempts: unit.head.attempts,
      retryDelaysMs: o.retryDelaysMs, permanent, error: message,
      timeEntryId: isTimeEntryFamily(unit.head.entity_type) ? unit.head.local_id : null,
    })
    if (result.status === 'failed') {
      tally.failed += ids.length
      for (const r of unit.rows) metrics?.failed.inc({ entity_type: r.entity_type })
      log.warn({ ...fields, error: message }, 'outbox row dead-lettered')
    } else if (result.status === 'pending') {
      retried('backoff')
      log.warn({ ...fields, error: message, nextRetryAt: result.nextRetryAt }, 'outbox row failed; retrying later')
    } else {
      retried('lease_lost')
    }
  }

  async function processUnits(units: Unit[], connections: Map<string, ConnectionRow>, now: Date, tally: Outcomes): Promise<void> {
    await Promise.all(units.map((u) => processUnit(u, connections.get(u.head.connection_id!), now, tally).catch((err: Error) => {
      // A database failure while finishing: the lease expires and the row is retried (lookup first).
      log.error({ rowId: u.head.id, entityType: u.head.entity_type, err: { message: err.message } }, 'outbox unit failed to finish')
    })))
  }

  async function maintenance(now: Date): Promise<void> {
    const released = await releaseExpiredLeases(db, now, maxAttempts)
    if (released.length) log.warn({ rows: released.length }, 'expired leases released')
    await resolveOutboxConnections(db)
  }

  /** One claim-and-process cycle at `now` (tests pass the time). */
  async function runOnce(now: Date = clock()): Promise<RunSummary> {
    const tally: Outcomes = { claimed: 0, done: 0, failed: 0, retried: 0, waiting: 0 }
    await maintenance(now)
    const { units, connections } = await claimUnits(o.concurrency, now)
    tally.claimed = units.reduce((n, u) => n + u.rows.length, 0)
    await processUnits(units, connections, now, tally)
    await drainWakes()
    return tally
  }

  /** Deletes done rows older than the retention age, in small batches. */
  async function runRetention(now: Date = clock()): Promise<number> {
    const before = new Date(now.getTime() - o.retentionMs)
    let total = 0
    for (let i = 0; i < 100; i++) {
      const n = await deleteDoneOutboxRows(db, before, o.retentionBatch)
      total += n
      if (n < o.retentionBatch) break
    }
    if (total) log.info({ rows: total }, 'retention deleted done outbox rows')
    return total
  }

  async function refreshBudgetGauges(connectionIds: string[]): Promise<void> {
    if (!metrics || o.rateLimitPerMinute === 0) return
    for (const id of connectionIds) metrics.budgetRemaining.set({ connection_id: id }, await readAlignBudget(db, id, clock(), { limitPerMinute: o.rateLimitPerMinute, burst: o.rateBurst }))
  }

  // ── the long-lived loop ──

  let running = false
  let loop: Promise<void> | null = null
  let wakeResolve: (() => void) | null = null
  let wakeRequested = false
  let listener: pg.Client | null = null
  let listenerRetry: NodeJS.Timeout | null = null
  let retentionTimer: NodeJS.Timeout | null = null
  const inFlight = new Set<Promise<void>>()

  function wake(): void {
    wakeRequested = true
    wakeResolve?.()
  }

  function sleep(ms: number): Promise<void> {
    if (wakeRequested) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      function done() {
        clearTimeout(timer)
        wakeResolve = null
        resolve()
      }
      wakeResolve = done
    })
  }

  async function listen(): Promise<void> {
    if (!running || !deps.databaseUrl) return
    const client = new pg.Client({ connectionString: deps.databaseUrl, application_name: 'sync-worker-listen' })
    const retry = () => {
      if (listener === client) listener = null
      client.removeAllListeners()
      client.on('error', () => {})
      client.end().catch(() => {})
      if (running && !listenerRetry) {
        listenerRetry = setTimeout(() => { listenerRetry = null; void listen() }, 1000)
        listenerRetry.unref()
      }
    }
    // The payload names the connection whose rows were committed (empty when sent by hand): claim at once if
    // the worker has nothing of it in hand; the loop tops up the others.
    client.on('notification', (message) => claimFresh(message.payload))
    client.on('error', (err) => {
      log.warn({ err: { message: err.message } }, 'LISTEN connection lost; polling until it is back')
      retry()
    })
    client.on('end', () => { if (running) retry() })
    try {
      await client.connect()
      await client.query(`LISTEN ${OUTBOX_NOTIFY_CHANNEL}`)
      if (!running) { await client.end(); return }
      listener = client
      wake() // rows committed while we were not listening
    } catch (err) {
      log.warn({ err: { message: (err as Error).message } }, 'LISTEN failed; polling and retrying')
      retry()
    }
  }

  // Claimed units not started yet (a local queue, as graphile-worker's): the next rows are ready when a slot
  // frees, and claims are fewer and larger. Dispatch is fair (below), so a new tenant's row never queues behind them.
  const queued: Array<{ unit: Unit; connection: ConnectionRow | undefined }> = []
  const prefetch = Math.max(1, Math.ceil(o.concurrency / 2))
  const inFlightByConnection = new Map<string, number>()
  const queuedByConnection = new Map<string, number>()

  // A connection that has to wait (its budget has nothing free soon, or Align said 429): its units still queued
  // here go back at once, a statement per claim, instead of each being dispatched only to hear the same and
  // release itself (a burst of statements just when another tenant's row may be on its way).
  async function releaseQueuedOf(connectionId: string, at: Date, reason: string, metricReason: string): Promise<void> {
    const mine = queued.filter((q) => q.unit.head.connection_id === connectionId).map((q) => q.unit)
    if (mine.length === 0) return
    queued.splice(0, queued.length, ...queued.filter((q) => q.unit.head.connection_id !== connectionId))
    queuedByConnection.delete(connectionId)
    await releaseUnstarted(mine, at, `${reason} (released from the local queue)`)
    for (const unit of mine) for (const r of unit.rows) metrics?.retried.inc({ entity_type: r.entity_type, reason: metricReason })
  }

  /** Claimed units that never reached Align go back to pending: one statement per claim (lease). */
  async function releaseUnstarted(units: Unit[], at: Date, reason: string): Promise<void> {
    const byLease = new Map<string, ClaimedRow[]>()
    for (const unit of units) {
      const rows = byLease.get(unit.leaseToken)
      if (rows) rows.push(...unit.rows)
      else byLease.set(unit.leaseToken, [...unit.rows])
    }
    for (const [leaseToken, rows] of byLease) {
      await releaseOutboxRows(db, { ids: rows.map((r) => r.id), prevAttemptAt: rows.map((r) => r.prev_attempt_at), leaseToken, at, reason })
    }
  }

  function count(map: Map<string, number>, key: string, delta: number): void {
    const n = (map.get(key) ?? 0) + delta
    if (n > 0) map.set(key, n)
    else map.delete(key)
  }

  function enqueue(claim: Claim): void {
    const nowMs = clock().getTime()
    for (const unit of claim.units) {
      slots.touch(unit.head.connection_id!, nowMs)
      queued.push({ unit, connection: claim.connections.get(unit.head.connection_id!) })
      count(queuedByConnection, unit.head.connection_id!, 1)
    }
    if (claim.units.length > 0) void refreshBudgetGauges([...claim.connections.keys()]).catch(() => {})
    dispatch()
  }

  const inHand = (connectionId: string) => inFlightByConnection.has(connectionId) || queuedByConnection.has(connectionId)

  function dispatch(): void {
    const nowMs = clock().getTime()
    const limits = new Map<string, number>()
    const busy = priority.busyWithin(ACTIVE_WINDOW_MS)
    while (running && inFlight.size < o.concurrency && queued.length > 0) {
      // Fair dispatch: the queued unit whose connection has the fewest units in flight goes first; a connection
      // at its share of the slots (slot-share.ts) waits.
      let pick = -1
      let best = Infinity
      for (let i = 0; i < queued.length && best > 0; i++) {
        const id = queued[i]!.unit.head.connection_id!
        const n = inFlightByConnection.get(id) ?? 0
        let limit = limits.get(id)
        if (limit === undefined) limits.set(id, limit = slots.limit(id, nowMs, inHand, busy))
        if (n < limit && n < best) { best = n; pick = i }
      }
      if (pick < 0) return
      const { unit, connection } = queued.splice(pick, 1)[0]!
      const connectionId = unit.head.connection_id!
      count(queuedByConnection, connectionId, -1)
      slots.touch(connectionId, nowMs)
      // A backlog that starts while this unit is in flight must give way too: urgency does not depend on what else runs now.
      unit.bulk = best > 0 || queuedByConnection.has(connectionId)
      unit.urgent = !unit.bulk
      if (unit.urgent) priority.enter()
      count(inFlightByConnection, connectionId, 1)
      const tally: Outcomes = { claimed: 0, done: 0, failed: 0, retried: 0, waiting: 0 }
      const p: Promise<void> = processUnits([unit], new Map(connection ? [[connection.id, connection]] : []), clock(), tally)
        .finally(() => {
          inFlight.delete(p)
          if (unit.urgent) priority.leave()
          count(inFlightByConnection, connectionId, -1)
          slots.touch(connectionId, clock().getTime())
          dispatch()
          wake()
        })
      inFlight.add(p)
    }
  }

  // A NOTIFY claims at once, apart from the loop (which may be in the middle of a claim), for the connections it
  // names that the worker has nothing of in hand: a tenant's new row never waits behind another's claim or local
  // queue, and the claim reads only that tenant's rows (not every connection's, some of which may have just
  // drained a backlog whose index entries vacuum has not cleared yet). A NOTIFY without a connection id (sent
  // by hand) claims for every connection with nothing in hand.
  let freshClaim: Promise<void> | null = null
  let freshAgain = false
  const freshNamed = new Set<string>()
  let freshAll = false

  function claimFresh(payload: string | undefined): void {
    if (!running) return
    if (payload) freshNamed.add(payload)
    else freshAll = true
    if (freshClaim) {
      freshAgain = true
      return
    }
    freshClaim = (async () => {
      do {
        freshAgain = false
        const named = [...freshNamed]
        const all = freshAll
        freshNamed.clear()
        freshAll = false
        const inHandIds = [...new Set([...inFlightByConnection.keys(), ...queuedByConnection.keys()])]
        const scope = all ? { excludeConnections: inHandIds } : { onlyConnections: named.filter((id) => !inHand(id)) }
        // The loop tops up the connections in hand when a slot is free.
        if (all ? inHandIds.length > 0 : named.some(inHand)) wake()
        if (scope.onlyConnections?.length === 0) continue
        // Until it returns, this claim is a new tenant's first step: the others hold theirs.
        priority.enter()
        try {
          enqueue(await claimUnits(o.concurrency, clock(), scope))
        } finally {
          priority.leave()
        }
      } while (freshAgain && running)
    })()
      .catch((err: Error) => {
        log.error({ err: { message: err.message } }, 'claim on NOTIFY failed; the loop claims instead')
        wake()
      })
      .finally(() => { freshClaim = null })
  }

  async function pump(): Promise<void> {
    let lastMaintenance = 0
    while (running) {
      wakeRequested = false
      try {
        const now = clock()
        if (now.getTime() - lastMaintenance >= o.maintenanceIntervalMs) {
          lastMaintenance = now.getTime()
          await maintenance(now)
        }
        // Claim when the local queue runs low (half of it), so claims are few and slots never wait on one.
        const room = o.concurrency - inFlight.size + prefetch - queued.length
        if (room > 0 && queued.length <= prefetch / 2) {
          const claim = await claimUnits(room, now)
          enqueue(claim)
          if (claim.units.length > 0 && queued.length <= prefetch / 2) continue
        }
      } catch (err) {
        log.error({ err: { message: (err as Error).message } }, 'claim cycle failed; retrying after the poll interval')
      }
      const resumeIn = earliestResume === null ? Infinity : earliestResume - clock().getTime() + 1
      earliestResume = null
      await sleep(Math.max(0, Math.min(o.pollIntervalMs, resumeIn)))
    }
  }

  function start(): void {
    if (running) return
    running = true
    void listen()
    retentionTimer = setInterval(() => { runRetention().catch((err: Error) => log.warn({ err: { message: err.message } }, 'retention failed')) }, o.retentionIntervalMs)
    retentionTimer.unref()
    priority.start()
    loop = pump()
    log.info({ concurrency: o.concurrency, pollIntervalMs: o.pollIntervalMs, leaseMs: o.leaseMs, rateLimitPerMinute: o.rateLimitPerMinute }, 'sync worker started')
  }

  /** Stops claiming, lets in-flight rows finish, closes the LISTEN connection. */
  async function stop(): Promise<void> {
    if (!running) return
    running = false
    wake()
    if (retentionTimer) clearInterval(retentionTimer)
    priority.stop()
    if (listenerRetry) clearTimeout(listenerRetry)
    await loop
    await freshClaim
    // Claimed but not started: nothing was sent to Align for these rows, so they go straight back.
    queuedByConnection.clear()
    await releaseUnstarted(queued.splice(0).map((q) => q.unit), clock(), 'released at shutdown before its Align call')
    while (inFlight.size > 0) await Promise.all([...inFlight])
    await drainWakes()
    const client = listener
    listener = null
    if (client) {
      client.removeAllListeners()
      client.on('error', () => {})
      await client.end().catch(() => {})
    }
    log.info('sync worker stopped')
  }

  return {
    runOnce,
    runRetention,
    start,
    stop,
    /** Whether the loop is running and the LISTEN connection is up (for /readyz). */
    get listening() { return listener !== null },
    get inFlight() { return inFlight.size },
  }
}

export type SyncWorker = ReturnType<typeof createSyncWorker>

function describe(err: unknown): string {
  if (err instanceof AlignApiError) return err.message
  if (err instanceof PermanentSyncError) return err.message
  if (typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505') {
    return 'the Align entity is already linked to another Illumera entity (unique link violated)'
  }
  return err instanceof Error ? `${err.name}: ${err.message}` : 'unknown error'
}

function hashKey(value: string): string {
  // Idempotency keys stay short and carry no personal data.
  return `bulk-invite:${createHashHex(value).slice(0, 40)}`
}

function createHashHex(value: string): string {
  return createHash('sha256').update(value).digest('hex')
}
