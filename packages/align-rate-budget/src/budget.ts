// One Align API key allows 600 requests per minute (a sliding 60 s window) for every caller together:
// all sync-worker replicas and the reconciliation job. The budget therefore lives in Postgres, one row per
// connection, and every caller takes one grant before each Align call.
//
// Glossary
// - grant: permission for one Align call, recorded as its time (epoch ms) in align_rate_budgets.grants.
// - window: Align's 60 s plus a small skew, so a grant leaves our window only after it has surely left
//   Align's (requests arrive a little after they are granted).
// - effective limit: the limit minus a headroom of 1.5% (at least 1), which absorbs network jitter; we
//   pace ourselves before Align has to say 429.
// - pause: align_connections.paused_until, set when Align answered 429 (or the budget ran dry); no grant is
//   given before it passes, in any process.
//
// The same algorithm as Align's (a sliding log), so a burst up to the effective limit goes out at once and
// the sustained rate is the effective limit per window: about 97% of the key's budget.
import type { Database } from '@illumera/db-schema'
import { type Kysely, sql } from 'kysely'

export const DEFAULT_ALIGN_LIMIT_PER_MINUTE = 600

export interface AlignBudgetOptions {
  /** Align's limit per key and minute (default 600). 0 turns pacing off (a sandbox without limits, benches). */
  limitPerMinute?: number
  /** Align's window (default 60 000 ms). */
  windowMs?: number
  /** Extra time a grant stays in our window (default 500 ms). */
  skewMs?: number
}

export type AlignBudgetDecision =
  | { granted: true; remaining: number }
  | { granted: false; retryAt: Date; reason: 'budget' | 'paused' }

/** The limit we pace to: 1.5% below Align's (at least one request). */
export function effectiveLimit(limitPerMinute: number): number {
  return Math.max(1, limitPerMinute - Math.max(1, Math.ceil(limitPerMinute * 0.015)))
}

function settings(options: AlignBudgetOptions) {
  const limitPerMinute = options.limitPerMinute ?? DEFAULT_ALIGN_LIMIT_PER_MINUTE
  const windowMs = (options.windowMs ?? 60_000) + (options.skewMs ?? 500)
  return { limitPerMinute, limit: limitPerMinute > 0 ? effectiveLimit(limitPerMinute) : 0, windowMs }
}

/**
 * Takes one grant for a call to Align with this connection's key, or says when to try again.
 * One atomic UPDATE … RETURNING: concurrent takers queue on the budget row, and each re-checks the count
 * on the row version it finally locks.
 *
 * @example
 * const budget = await takeAlignBudget(db, connection.id, new Date(), { limitPerMinute: 600 })
 * if (!budget.granted) return requeueAt(budget.retryAt)
 * await gateway.createProject(...)
 */
export async function takeAlignBudget(
  db: Kysely<Database>,
  connectionId: string,
  now: Date,
  options: AlignBudgetOptions = {},
): Promise<AlignBudgetDecision> {
  const { limit, windowMs } = settings(options)
  const nowMs = now.getTime()
  const cutoff = nowMs - windowMs
  if (limit === 0) {
    const paused = await db.selectFrom('align_connections').select('paused_until').where('id', '=', connectionId).executeTakeFirst()
    if (paused?.paused_until && paused.paused_until > now) return { granted: false, retryAt: paused.paused_until, reason: 'paused' }
    return { granted: true, remaining: Number.POSITIVE_INFINITY }
  }
  for (let round = 0; round < 2; round++) {
    const taken = await sql<{ used: number }>`
      update align_rate_budgets b
         set grants = array(select g from unnest(b.grants) g where g > ${cutoff} order by g) || ${nowMs}::bigint,
             updated_at = ${now}
       where b.connection_id = ${connectionId}
         and (select count(*) from unnest(b.grants) g where g > ${cutoff}) < ${limit}
         and not exists (select 1 from align_connections c where c.id = b.connection_id and c.paused_until > ${now})
      returning cardinality(b.grants) as used`.execute(db)
    const row = taken.rows[0]
    if (row) return { granted: true, remaining: Math.max(0, limit - Number(row.used)) }
    // No grant: either the row does not exist yet, the window is full, or the connection is paused.
    const state = await sql<{ exists: boolean; paused_until: Date | null; blocking: string | null }>`
      select b.connection_id is not null as exists, c.paused_until,
             (select g from unnest(b.grants) g where g > ${cutoff} order by g desc offset ${limit - 1} limit 1) as blocking
        from align_connections c left join align_rate_budgets b on b.connection_id = c.id
       where c.id = ${connectionId}`.execute(db)
    const s = state.rows[0]
    if (!s) throw new Error(`takeAlignBudget: no align_connections row ${connectionId}`)
    if (s.paused_until && s.paused_until > now) return { granted: false, retryAt: s.paused_until, reason: 'paused' }
    if (!s.exists) {
      await db.insertInto('align_rate_budgets').values({ connection_id: connectionId, grants: [] })
        .onConflict((oc) => oc.column('connection_id').doNothing()).execute()
      continue
    }
    if (s.blocking !== null) return { granted: false, retryAt: new Date(Number(s.blocking) + windowMs + 1), reason: 'budget' }
    // The window freed up between the two statements: try once more.
  }
  return { granted: false, retryAt: new Date(nowMs + 10), reason: 'budget' }
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
