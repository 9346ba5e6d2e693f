// One Align API key allows 600 requests per minute (a sliding 60 s window) for every caller together:
// all sync-worker replicas and the reconciliation job. The budget therefore lives in Postgres, one row per
// connection, and every caller takes one grant before each Align call.
//
// Glossary
// - grant: permission for one Align call at a given moment, recorded as that moment (epoch ms) in
//   align_rate_budgets.grants.
// - window: Align's 60 s plus a small skew, so a grant leaves our window only after it has surely left
//   Align's (requests arrive a little after they are granted).
// - effective limit: the limit minus a headroom of 1.5% (at least 1), which absorbs network jitter; we
//   pace ourselves before Align has to say 429.
// - interval: window ÷ effective limit (≈ 102 ms at 600/min), the spacing of grants once a burst is spent.
// - burst: grants that may go out at once after a quiet spell (default 7.5% of the effective limit), so a
//   user's handful of edits is not spaced out.
// - reservation: a grant for a moment a little ahead (the next free one, within `reserveWithinMs`): the
//   caller waits until then and calls. Every waiter holds its own moment, so nobody races for the next one.
// - pause: align_connections.paused_until, set when Align answered 429 (or the budget ran dry); no grant is
//   given before it passes, in any process.
//
// Two rules, both checked in the one UPDATE that takes a grant:
// 1. The hard cap, the same algorithm as Align's (a sliding log): at most the effective limit in any window,
//    which is what guarantees zero 429s however the callers are timed.
// 2. Pacing (GCRA, a token bucket kept as one number, pacing_tat_ms): at most `burst` at once, then one per
//    interval. Without it a backlog would spend a whole window's budget in one burst and then stop dead for
//    the rest of the window; paced, the sustained rate is still the effective limit per window (about 97% of
//    the key's budget), but it arrives evenly. A burst never spends room the sliding log does not have (the
//    bucket counts as empty while the log is nearly full), so after a saturated spell the log does not have
//    to stop the pacing with a pause each window.
import type { Database } from '@illumera/db-schema'
import { type Kysely, sql } from 'kysely'

export const DEFAULT_ALIGN_LIMIT_PER_MINUTE = 600
/** The default burst, as a share of the effective limit. */
export const DEFAULT_BURST_SHARE = 0.075

export interface AlignBudgetOptions {
  /** Align's limit per key and minute (default 600). 0 turns pacing off (a sandbox without limits, benches). */
  limitPerMinute?: number
  /** Align's window (default 60 000 ms). */
  windowMs?: number
  /** Extra time a grant stays in our window (default 500 ms). */
  skewMs?: number
  /** Grants that may go out at once (1 … effective limit; default 7.5% of the effective limit, at least 1). */
  burst?: number
  /**
   * A grant whose moment comes within this long is reserved now and returned with that moment (`at`); the
   * caller waits until then. Default 0: only a grant due now.
   */
  reserveWithinMs?: number
}

export type AlignBudgetDecision =
  /** Call Align at `at` (now, or a reserved moment at most `reserveWithinMs` ahead). */
  | { granted: true; at: Date; remaining: number }
  /** No grant: `retryAt` is when the next one frees up (or the pause ends). */
  | { granted: false; retryAt: Date; reason: 'budget' | 'paused' }

/** The limit we pace to: 1.5% below Align's (at least one request). */
export function effectiveLimit(limitPerMinute: number): number {
  return Math.max(1, limitPerMinute - Math.max(1, Math.ceil(limitPerMinute * 0.015)))
}

/** The default burst for a limit: 7.5% of the effective limit, at least 1. */
export function defaultBurst(limitPerMinute: number): number {
  return Math.max(1, Math.ceil(effectiveLimit(limitPerMinute) * DEFAULT_BURST_SHARE))
}

function settings(options: AlignBudgetOptions) {
  const limitPerMinute = options.limitPerMinute ?? DEFAULT_ALIGN_LIMIT_PER_MINUTE
  const windowMs = (options.windowMs ?? 60_000) + (options.skewMs ?? 500)
  const limit = limitPerMinute > 0 ? effectiveLimit(limitPerMinute) : 0
  const burst = options.burst ?? (limit > 0 ? defaultBurst(limitPerMinute) : 1)
  const reserveWithinMs = options.reserveWithinMs ?? 0
  if (limit > 0 && (!Number.isInteger(burst) || burst < 1 || burst > limit)) {
    throw new RangeError(`align-rate-budget: burst must be an integer from 1 to the effective limit ${limit}, got ${burst}`)
  }
  if (!(reserveWithinMs >= 0)) throw new RangeError(`align-rate-budget: reserveWithinMs must be ≥ 0, got ${reserveWithinMs}`)
  const intervalMs = limit > 0 ? windowMs / limit : 0
  return { limit, windowMs, intervalMs, burst, toleranceMs: (burst - 1) * intervalMs, reserveWithinMs }
}

type Settings = ReturnType<typeof settings>

/**
 * The least time `calls` grants take from an idle budget (first grant at 0, last at the returned ms): the burst
 * at once, then one per interval until the window holds the limit, the wait until the burst leaves the window,
 * then one per interval. What the budget alone imposes on a job of that many calls (benches).
 */
export function pacedFloorMs(calls: number, options: AlignBudgetOptions = {}): number {
  const s = settings(options)
  if (s.limit === 0 || calls <= 0) return 0
  if (calls <= s.burst) return 0
  if (calls <= s.limit) return Math.ceil((calls - s.burst) * s.intervalMs)
  return s.windowMs + Math.ceil((calls - 1 - s.limit) * s.intervalMs)
}

/** The spacing of paced grants: window ÷ effective limit (≈ 102 ms at 600/min); 0 with pacing off. */
export function paceIntervalMs(options: AlignBudgetOptions = {}): number {
  return settings(options).intervalMs
}

// SQL over the budget row `b` (one place for the arithmetic shared by the UPDATE and the read after a denial).
// The moment the sliding log has room again: the limit-th most recent grant leaves the window (null when there
// are fewer; greatest() skips nulls).
const logFreeAt = (s: Settings) => sql`((select g from unnest(b.grants) g order by g desc offset ${s.limit - 1} limit 1) + ${s.windowMs}::bigint)::float8`
// The next grant's moment: now, or later if pacing, the log, or a grant already reserved says so. Grants
// are handed out in time order (never before the latest one), so the log stays sorted and the cap holds.
// Rounded up to whole ms, less 10 µs of float error (the pacing state is a sum of fractional intervals).
const nextGrantAt = (s: Settings, nowMs: number) => sql`ceil(-0.01 + greatest(
    ${nowMs}::float8,
    b.pacing_tat_ms - ${s.toleranceMs}::float8,
    (select max(g) from unnest(b.grants) g)::float8,
    ${logFreeAt(s)}))::bigint`

/**
 * Takes one grant for a call to Align with this connection's key, or says when to try again.
 * One atomic UPDATE … RETURNING: concurrent takers queue on the budget row, and each re-checks both rules on
 * the row version it finally locks.
 *
 * @example
 * const budget = await takeAlignBudget(db, connection.id, new Date(), { limitPerMinute: 600, reserveWithinMs: 1000 })
 * if (!budget.granted) return requeueAt(budget.retryAt)
 * await sleepUntil(budget.at)
 * await gateway.createProject(...)
 */
export async function takeAlignBudget(
  db: Kysely<Database>,
  connectionId: string,
  now: Date,
  options: AlignBudgetOptions = {},
): Promise<AlignBudgetDecision> {
  const s = settings(options)
  const nowMs = now.getTime()
  if (s.limit === 0) {
    const paused = await db.selectFrom('align_connections').select('paused_until').where('id', '=', connectionId).executeTakeFirst()
    if (paused?.paused_until && paused.paused_until > now) return { granted: false, retryAt: paused.paused_until, reason: 'paused' }
    return { granted: true, at: now, remaining: Number.POSITIVE_INFINITY }
  }
  const at = nextGrantAt(s, nowMs)
  for (let round = 0; round < 3; round++) {
    // SET sees the row before the update; the bucket counts as empty while the log is nearly full (a burst
    // never spends room the log does not have).
    const taken = await sql<{ at: string; used: number }>`
      update align_rate_budgets b
         set grants = array(select g from unnest(b.grants) g where g > ${nowMs - s.windowMs} order by g) || ${at},
             pacing_tat_ms = greatest(b.pacing_tat_ms, ${at}::float8, ${logFreeAt(s)} + ${s.toleranceMs}::float8) + ${s.intervalMs}::float8,
             updated_at = ${now}
       where b.connection_id = ${connectionId}
         and ${at} <= ${nowMs + s.reserveWithinMs}::bigint
         and not exists (select 1 from align_connections c where c.id = b.connection_id and c.paused_until > ${now})
      returning b.grants[cardinality(b.grants)] as at, cardinality(b.grants) as used`.execute(db)
    const row = taken.rows[0]
    if (row) return { granted: true, at: new Date(Number(row.at)), remaining: Math.max(0, s.limit - Number(row.used)) }
    // No grant: either the row does not exist yet, the next moment is too far ahead, or the connection is paused.
    const state = await sql<{ exists: boolean; paused_until: Date | null; next_at: string | null }>`
      select b.connection_id is not null as exists, c.paused_until, case when b.connection_id is not null then ${at} end as next_at
        from align_connections c left join align_rate_budgets b on b.connection_id = c.id
       where c.id = ${connectionId}`.execute(db)
    const row2 = state.rows[0]
    if (!row2) throw new Error(`takeAlignBudget: no align_connections row ${connectionId}`)
    if (row2.paused_until && row2.paused_until > now) return { granted: false, retryAt: row2.paused_until, reason: 'paused' }
    if (!row2.exists) {
      await db.insertInto('align_rate_budgets').values({ connection_id: connectionId, grants: [] })
        .onConflict((oc) => oc.column('connection_id').doNothing()).execute()
      continue
    }
    const nextAt = Number(row2.next_at)
    if (nextAt > nowMs + s.reserveWithinMs) return { granted: false, retryAt: new Date(nextAt), reason: 'budget' }
    // A grant freed up (or a pause ended) between the two statements: try again.
  }
  return { granted: false, retryAt: new Date(nowMs + 10), reason: 'budget' }
}

/**
 * How long to wait before calling Align on a grant: until its moment (a reservation may lie ahead), plus one
 * millisecond, since timers and the wall clock differ by up to one and the call must not precede its moment.
 */
export function msUntilGrant(grant: Extract<AlignBudgetDecision, { granted: true }>, now: Date): number {
  const ahead = grant.at.getTime() - now.getTime()
  return ahead > 0 ? ahead + 1 : 0
}

/** Grants left in the current window (for the budget-remaining gauge). */
export async function readAlignBudget(
  db: Kysely<Database>,
  connectionId: string,
  now: Date,
  options: AlignBudgetOptions = {},
): Promise<number> {
  const { limit, windowMs } = settings(options)
  if (limit === 0) return Number.POSITIVE_INFINITY
  const result = await sql<{ used: number }>`
    select (select count(*) from unnest(b.grants) g where g > ${now.getTime() - windowMs})::int as used
      from align_rate_budgets b where b.connection_id = ${connectionId}`.execute(db)
  return Math.max(0, limit - (result.rows[0]?.used ?? 0))
}

/**
 * Stops every process from calling Align with this connection's key before `until` (Align said 429 with
 * Retry-After, or the budget ran dry). Never shortens a longer pause.
 */
export async function pauseConnection(db: Kysely<Database>, connectionId: string, until: Date): Promise<void> {
  await db.updateTable('align_connections')
    .set({ paused_until: until })
    .where('id', '=', connectionId)
    .where((eb) => eb.or([eb('paused_until', 'is', null), eb('paused_until', '<', until)]))
    .execute()
}
