// The reconciliation run: for every active Align connection (or the one named), compare Illumera with Align
// and write what differs to align_reconciliation_log, then record the run in align_reconciliation_runs.
//
// Glossary
// - check: one of the three comparisons — approved_minutes and approved_cost_cents per linked project, and
//   entity_link.<type> between align_entity_links and Align's /integration-links.
// - finding: one discrepancy row (field, illumera_value, align_value, as text).
// - complete read: every page of /integration-links was read. Link findings are reported only after a
//   complete read; a partial read proves nothing, so the connection is marked incomplete instead.
// - incomplete connection: a call failed for good (401, Align down, a project whose summaries could not be
//   read, a partial link read); the run goes on with the other connections and ends 'incomplete'.
// - outcome: ok (all agree) · discrepancies (findings, every check complete) · incomplete (some check could
//   not finish) · failed (the run itself broke, e.g. the database). Exit codes: 0 · 1 · 2 · 2.
// - abandoned run: a run row still open (finished_at null) when a run starts holding the lock: its process died
//   (kill -9, OOM). The starting run closes it as failed, error "crashed: …", so it does not stay "running".
import { type AlignGateway, AlignAuthError, AlignNotFoundError, MAX_PAGE_SIZE } from '@illumera/align-gateway'
import { type Database, type NewAlignReconciliationLogRow, pushesToAlign, type ReconciliationOutcome } from '@illumera/db-schema'
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import { type AlignCallContext, type CallStats, callAlign } from './align-call.js'
import type { ReconcileBudget } from './budget.js'
import type { Clock } from './clock.js'
import { enqueueLinkFix } from './fix.js'
import { withReconciliationLock } from './lock.js'
import { absDiff, decimalToCents } from './money.js'
import {
  closeAbandonedRuns, type ConnectionRow, finishRun, insertDiscrepancies, insertRun, type LinkedProject, listConnections, listLinkedProjectsPage,
  listLocalLinksPage, sumApprovedMinutes, sumInvoicedCents,
} from './reconcile.queries.js'

/** Differences of at most this many cents are noise, as in the reference (> $1 is a finding). */
export const COST_TOLERANCE_CENTS = 100n

export interface ReconcileOptions {
  /** Only this connection (--connection). */
  connectionId?: string | undefined
  /** Report only: no discrepancy rows, no run row, no outbox rows (--dry-run). */
  dryRun: boolean
  /** Re-enqueue upserts for entities whose links are missing in Align (--fix). */
  fix: boolean
  /** Incremental: only projects whose link, time entries or invoices changed since (--since). */
  since?: Date | undefined
  /** Projects whose two summaries are fetched at the same time, per connection (default 4). */
  projectConcurrency?: number
  /** Rows per keyset page of Illumera's side (default 500). */
  pageSize?: number
  /** Retries of one Align call after a 5xx or network failure (default 2). */
  serverRetries?: number
  /** First backoff after a 5xx (default 250 ms). */
  retryDelayMs?: number
  /** 429s in a row on one call before the connection is given up (default 50). */
  maxRateLimited?: number
  /** Project calls failing in a row before the connection is given up as down (default 5). */
  maxConsecutiveFailures?: number
}

export interface ReconcileDeps {
  db: Kysely<Database>
  /** The Align client of a connection (built with maxRetries 0: every attempt takes a grant here). */
  gatewayFor: (connection: ConnectionRow) => AlignGateway
  budget: ReconcileBudget
  logger: Logger
  clock: Clock
  options: ReconcileOptions
}

export type ConnectionStatus = 'ok' | 'discrepancies' | 'incomplete'
export type LinkCheck = 'complete' | 'incomplete' | 'not_run'

export interface ConnectionSummary {
  connectionId: string
  tenantId: string
  companyId: string
  status: ConnectionStatus
  projectsChecked: number
  /** Projects whose Align summaries could not be read (the connection is then incomplete). */
  projectsFailed: number
  /** Linked projects Align answered 404 for (reported by the link check, not counted as failures). */
  projectsNotFoundInAlign: number
  linkCheck: LinkCheck
  alignLinksRead: number
  localLinksRead: number
  /** Findings by field, e.g. { approved_minutes: 1, 'entity_link.user': 2 }. */
  discrepancies: Record<string, number>
  /** --fix: enqueued, already queued, entity gone here, or not enqueued because the connection does not push to Align. */
  fixes: { enqueued: number; alreadyQueued: number; entityGone: number; outboundOff: number }
  alignCalls: number
  rateLimited: number
  durationMs: number
  /** Why the connection is incomplete (an error message: never a key or a secret). */
  error?: string
}

export interface RunSummary {
  /** null for a --dry-run (nothing is written). */
  runId: string | null
  outcome: ReconciliationOutcome
  dryRun: boolean
  startedAt: string
  finishedAt: string
  durationMs: number
  connectionsChecked: number
  connectionsIncomplete: number
  projectsChecked: number
  discrepancies: number
  alignCalls: number
  connections: ConnectionSummary[]
}

export class UnknownConnectionError extends Error {
  override name = 'UnknownConnectionError'
}

export function exitCodeFor(outcome: ReconciliationOutcome): 0 | 1 | 2 {
  return outcome === 'ok' ? 0 : outcome === 'discrepancies' ? 1 : 2
}

/** The one line printed on stdout. */
export function formatSummaryLine(summary: RunSummary): string {
  const incomplete = summary.connectionsIncomplete > 0 ? ` (${summary.connectionsIncomplete} incomplete)` : ''
  return `reconciliation ${summary.outcome}${summary.dryRun ? ' (dry run)' : ''}: ${summary.connectionsChecked} connection(s)${incomplete}, `
    + `${summary.projectsChecked} project(s), ${summary.discrepancies} discrepancy(ies), ${summary.alignCalls} Align call(s) in `
    + `${(summary.durationMs / 1000).toFixed(1)} s${summary.runId ? ` [run ${summary.runId}]` : ''}`
}

/**
 * Runs one reconciliation under the cluster-wide lock (ReconciliationLockedError when another run holds it).
 * Throws UnknownConnectionError when --connection names no active connection; any other throw is a failed
 * run (recorded as such when the run row exists).
 */
export async function runReconciliation(deps: ReconcileDeps): Promise<RunSummary> {
  return withReconciliationLock(deps.db, () => reconcileAll(deps))
}

async function reconcileAll(deps: ReconcileDeps): Promise<RunSummary> {
  const { db, clock, logger, options } = deps
  const connections = await listConnections(db, options.connectionId)
  if (options.connectionId !== undefined) {
    const named = connections[0]
    if (!named) throw new UnknownConnectionError(`--connection ${options.connectionId}: no such Align connection`)
    if (named.status !== 'active') throw new UnknownConnectionError(`--connection ${options.connectionId}: the connection is ${named.status}, not active`)
  }
  const startedAt = clock.now()
  const runOptions = { connectionId: options.connectionId ?? null, since: options.since?.toISOString() ?? null, fix: options.fix }
  const runId = options.dryRun ? null : await insertRun(db, startedAt, runOptions)
  logger.info({ runId, ...runOptions, dryRun: options.dryRun, connections: connections.length }, 'reconciliation started')
  try {
    if (runId) {
      // We hold the lock, so a run row still open belongs to a process that died: close it, or it stays "running".
      const abandoned = await closeAbandonedRuns(db, runId, clock.now())
      if (abandoned.length > 0) logger.warn({ runId, abandonedRunIds: abandoned }, 'closed runs whose process died before finishing (outcome failed)')
    }
    const summaries: ConnectionSummary[] = []
    for (const connection of connections) summaries.push(await reconcileConnection(deps, connection, runId, startedAt))
    const finishedAt = clock.now()
    const summary = summarize(runId, options.dryRun, startedAt, finishedAt, summaries)
    if (runId) {
      await finishRun(db, runId, {
        outcome: summary.outcome, finishedAt, connectionsChecked: summary.connectionsChecked, connectionsIncomplete: summary.connectionsIncomplete,
        projectsChecked: summary.projectsChecked, discrepancies: summary.discrepancies, alignCalls: summary.alignCalls,
        summary: { connections: summaries }, error: null,
      })
    }
    logger.info({ summary }, 'reconciliation finished')
    return summary
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    logger.error({ runId, err: { name: (err as Error)?.name, message } }, 'reconciliation failed')
    if (runId) {
      await finishRun(db, runId, {
        outcome: 'failed', finishedAt: clock.now(), connectionsChecked: 0, connectionsIncomplete: 0, projectsChecked: 0,
        discrepancies: 0, alignCalls: 0, summary: null, error: message,
      }).catch(() => undefined)
    }
    throw err
  }
}

function summarize(runId: string | null, dryRun: boolean, startedAt: Date, finishedAt: Date, connections: ConnectionSummary[]): RunSummary {
  const sum = (pick: (c: ConnectionSummary) => number) => connections.reduce((n, c) => n + pick(c), 0)
  const connectionsIncomplete = connections.filter((c) => c.status === 'incomplete').length
  const discrepancies = sum((c) => Object.values(c.discrepancies).reduce((a, b) => a + b, 0))
  const outcome: ReconciliationOutcome = connectionsIncomplete > 0 ? 'incomplete' : discrepancies > 0 ? 'discrepancies' : 'ok'
  return {
    runId, outcome, dryRun, startedAt: startedAt.toISOString(), finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - startedAt.getTime(), connectionsChecked: connections.length, connectionsIncomplete,
    projectsChecked: sum((c) => c.projectsChecked), discrepancies, alignCalls: sum((c) => c.alignCalls), connections,
  }
}

/** Buffers finding rows and writes them in batches (nothing in a dry run); counts them by field. */
class FindingWriter {
  readonly counts: Record<string, number> = {}
  #buffer: NewAlignReconciliationLogRow[] = []

  constructor(
    private readonly db: Kysely<Database>,
    private readonly base: { tenant_id: string; connection_id: string; run_id: string | null; detected_at: Date },
    private readonly dryRun: boolean,
  ) {}

  async add(finding: { projectId: string | null; field: string; illumeraValue: string | null; alignValue: string | null }): Promise<void> {
    this.counts[finding.field] = (this.counts[finding.field] ?? 0) + 1
    if (this.dryRun) return
    this.#buffer.push({ ...this.base, project_id: finding.projectId, field: finding.field, illumera_value: finding.illumeraValue, align_value: finding.alignValue })
    if (this.#buffer.length >= 500) await this.flush()
  }

  async flush(): Promise<void> {
    const rows = this.#buffer
    this.#buffer = []
    await insertDiscrepancies(this.db, rows)
  }
}

/** A connection is given up: 401, Align down, or no budget left to wait for. */
class ConnectionAbortedError extends Error {
  override name = 'ConnectionAbortedError'
}

async function reconcileConnection(deps: ReconcileDeps, connection: ConnectionRow, runId: string | null, detectedAt: Date): Promise<ConnectionSummary> {
  const { db, clock, options } = deps
  const logger = deps.logger.child({ connectionId: connection.id })
  const started = clock.now().getTime()
  const stats: CallStats = { calls: 0, rateLimited: 0 }
  const writer = new FindingWriter(db, { tenant_id: connection.tenant_id, connection_id: connection.id, run_id: runId, detected_at: detectedAt }, options.dryRun)
  const summary: ConnectionSummary = {
    connectionId: connection.id, tenantId: connection.tenant_id, companyId: connection.company_id, status: 'ok',
    projectsChecked: 0, projectsFailed: 0, projectsNotFoundInAlign: 0, linkCheck: 'not_run', alignLinksRead: 0, localLinksRead: 0,
    discrepancies: writer.counts, fixes: { enqueued: 0, alreadyQueued: 0, entityGone: 0, outboundOff: 0 }, alignCalls: 0, rateLimited: 0, durationMs: 0,
  }
  const ctx: AlignCallContext = {
    connectionId: connection.id, budget: deps.budget, clock, stats,
    serverRetries: options.serverRetries ?? 2, retryDelayMs: options.retryDelayMs ?? 250, maxRateLimited: options.maxRateLimited ?? 50,
  }
  try {
    const gateway = deps.gatewayFor(connection)
    await checkProjects(deps, connection, gateway, ctx, writer, summary, logger)
    await checkLinks(deps, connection, gateway, ctx, writer, summary, logger)
  } catch (err) {
    summary.error = describe(err)
    logger.warn({ err: { name: (err as Error)?.name, message: summary.error } }, 'connection not reconciled to the end')
  } finally {
    await writer.flush()
  }
  summary.alignCalls = stats.calls
  summary.rateLimited = stats.rateLimited
  summary.durationMs = clock.now().getTime() - started
  const findings = Object.values(writer.counts).reduce((a, b) => a + b, 0)
  summary.status = summary.error !== undefined || summary.projectsFailed > 0 || summary.linkCheck !== 'complete'
    ? 'incomplete'
    : findings > 0 ? 'discrepancies' : 'ok'
  logger.info({ connectionSummary: summary }, 'connection reconciled')
  return summary
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err)
}

/** Checks 1 and 2 for every linked project, page by page, `projectConcurrency` projects at a time. */
async function checkProjects(
  deps: ReconcileDeps, connection: ConnectionRow, gateway: AlignGateway, ctx: AlignCallContext,
  writer: FindingWriter, summary: ConnectionSummary, logger: Logger,
): Promise<void> {
  const { db, options } = deps
  const scope = { tenantId: connection.tenant_id, companyId: connection.company_id }
  const pageSize = options.pageSize ?? 500
  const concurrency = options.projectConcurrency ?? 4
  const maxConsecutiveFailures = options.maxConsecutiveFailures ?? 5
  let consecutiveFailures = 0
  let after: string | null = null
  for (;;) {
    const page: LinkedProject[] = await listLinkedProjectsPage(db, scope, { afterProjectId: after, limit: pageSize, since: options.since ?? null })
    if (page.length === 0) return
    after = page[page.length - 1]!.project_id
    const ids = page.map((p) => p.project_id)
    const [minutes, cents] = await Promise.all([sumApprovedMinutes(db, connection.tenant_id, ids), sumInvoicedCents(db, connection.tenant_id, ids)])
    let next = 0
    const worker = async () => {
      while (next < page.length) {
        const project = page[next++]!
        try {
          await checkProject(gateway, ctx, writer, project, minutes.get(project.project_id) ?? '0', cents.get(project.project_id) ?? '0')
          summary.projectsChecked++
          consecutiveFailures = 0
        } catch (err) {
          if (err instanceof AlignNotFoundError) {
            summary.projectsNotFoundInAlign++
            logger.warn({ projectId: project.project_id, alignProjectId: project.align_project_id }, 'linked project not found in Align')
            continue
          }
          if (err instanceof AlignAuthError) throw new ConnectionAbortedError(`Align refused the key (${err.status})`, { cause: err })
          summary.projectsFailed++
          logger.warn({ projectId: project.project_id, err: { name: (err as Error)?.name, message: (err as Error)?.message } }, 'project not reconciled')
          if (++consecutiveFailures >= maxConsecutiveFailures) throw new ConnectionAbortedError(`${consecutiveFailures} projects failed in a row; last: ${describe(err)}`, { cause: err })
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, page.length) }, worker))
    if (page.length < pageSize) return
  }
}

async function checkProject(
  gateway: AlignGateway, ctx: AlignCallContext, writer: FindingWriter, project: LinkedProject, illumeraMinutes: string, illumeraCents: string,
): Promise<void> {
  const [time, cost] = await Promise.all([
    callAlign(ctx, () => gateway.getTimeSummary(project.align_project_id, { status: 'approved' })),
    callAlign(ctx, () => gateway.getCostSummary(project.align_project_id)),
  ])
  const alignMinutes = String(time.totalMinutes)
  if (BigInt(alignMinutes) !== BigInt(illumeraMinutes)) {
    await writer.add({ projectId: project.project_id, field: 'approved_minutes', illumeraValue: illumeraMinutes, alignValue: alignMinutes })
  }
  const alignCents = decimalToCents(cost.approvedCost)
  if (absDiff(alignCents, BigInt(illumeraCents)) > COST_TOLERANCE_CENTS) {
    await writer.add({ projectId: project.project_id, field: 'approved_cost_cents', illumeraValue: illumeraCents, alignValue: alignCents.toString() })
  }
}

function linkKey(externalType: string, externalId: string): string {
  return `${externalType}\u0000${externalId}`
}

/** Check 3: every page of Align's integration links against every local link of the connection's company. */
async function checkLinks(
  deps: ReconcileDeps, connection: ConnectionRow, gateway: AlignGateway, ctx: AlignCallContext,
  writer: FindingWriter, summary: ConnectionSummary, logger: Logger,
): Promise<void> {
  const { db, options } = deps
  // Align's side, keyed by (externalType, externalId) of links that carry our provider. Only keys are kept.
  const alignKeys = new Set<string>()
  try {
    const pageSize = MAX_PAGE_SIZE
    let seen = 0
    for (let page = 1; ; page++) {
      const result = await callAlign(ctx, () => gateway.listIntegrationLinks({ page, pageSize }))
      seen += result.data.length
      for (const link of result.data) {
        if (link.externalRef && link.externalRef.provider !== 'illumera') continue
        alignKeys.add(linkKey(link.externalRef?.externalType ?? link.entityType, link.externalRef?.externalId ?? link.externalId))
      }
      if (result.data.length < pageSize || seen >= result.total) break
      if (page > Math.ceil(result.total / pageSize) + 1) throw new Error(`integration-links kept paging past total ${result.total}`)
    }
    summary.alignLinksRead = seen
  } catch (err) {
    summary.linkCheck = 'incomplete'
    if (err instanceof AlignAuthError) throw new ConnectionAbortedError(`Align refused the key (${err.status})`, { cause: err })
    summary.error = `integration links not read to the end (${describe(err)}): no link findings for this connection`
    logger.warn({ err: { name: (err as Error)?.name, message: (err as Error)?.message } }, 'integration links not read to the end: link check skipped')
    return
  }

  let after: string | null = null
  const pageSize = options.pageSize ?? 500
  for (;;) {
    const page = await listLocalLinksPage(db, { tenantId: connection.tenant_id, companyId: connection.company_id }, after, pageSize)
    if (page.length === 0) break
    after = page[page.length - 1]!.id
    summary.localLinksRead += page.length
    for (const link of page) {
      if (alignKeys.delete(linkKey(link.external_type, link.external_id))) continue
      // An entry deleted here keeps its link when Align deleted it first (the ingest applies time.deleted as a
      // soft delete): gone on both sides, nothing to report. (Still in Align, it matched above: delete on its way.)
      if (link.entry_deleted) continue
      await writer.add({
        projectId: null, field: `entity_link.${link.external_type}`, illumeraValue: link.external_id, alignValue: null,
      })
      if (options.fix && !options.dryRun) {
        // A connection set to align_to_illumera gets no outbox rows from the api; --fix sends nothing either.
        if (!pushesToAlign(connection.sync_direction)) {
          summary.fixes.outboundOff++
          continue
        }
        const result = await enqueueLinkFix(db, connection, link)
        if (result === 'enqueued') summary.fixes.enqueued++
        else if (result === 'already_queued') summary.fixes.alreadyQueued++
        else summary.fixes.entityGone++
      }
    }
    if (page.length < pageSize) break
  }
  for (const key of alignKeys) {
    const [externalType, externalId] = key.split('\u0000') as [string, string]
    await writer.add({ projectId: null, field: `entity_link.${externalType}`, illumeraValue: null, alignValue: externalId })
  }
  summary.linkCheck = 'complete'
}
