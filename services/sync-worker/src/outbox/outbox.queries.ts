// Every SQL statement of the outbox worker, one literal statement per queue operation, each with its
// reasoning beside it (graphile-worker's habit). Time is always passed in (`now`), never read here.
//
// Glossary
// - claim: pending + due rows become `processing` under a fresh lease token (one UPDATE … FOR UPDATE SKIP LOCKED).
// - lease: (lease_token, lease_expires_at). Only the holder of the token may finish the row (fencing): a
//   worker whose lease expired and whose row was claimed again finishes nothing.
// - attempt: a call to Align that failed with a retryable error (or a lease that expired mid-call). Waiting
//   for a dependency, for the rate budget, for a 429 pause or for a key rotation spends none.
// - family: rows that must run in one order. time_entry, time_entry_submit and time_entry_unlock of one entry
//   are one family; every other entity type is its own.
// - dependency wait: a row whose project/user/member/entry link does not exist yet is parked (pending,
//   waiting_for = "<type>:<key>", next_retry_at = now + recheck) and woken when that link lands.
// - dead letter: status `failed`; kept for an admin retry.
import type { AlignSyncOutboxRow, Database, OutboxEntityType } from '@illumera/db-schema'
import { PREPARED_STATEMENT_MARKER as PREPARED } from '@illumera/service-kit'
import { type Kysely, sql } from 'kysely'

export type ClaimedRow = AlignSyncOutboxRow & {
  /** last_attempt_at before this claim: non-null means an earlier attempt may have reached Align. */
  prev_attempt_at: Date | null
  /** A later pending row of the same entity exists (a coalescing candidate). */
  has_followers?: boolean
  /** The connection as the claim saw it (saves a lookup per claim). */
  connection_status?: string
  connection_encrypted_api_key?: string
  connection_paused_until?: Date | null
  /** The connection's stored field mappings, on its first row of the claim only (null on the others). */
  connection_field_mappings?: unknown
  /** When the claim read the connection (PostgreSQL's clock): later than every row it claimed was written. */
  connection_read_at?: Date
}

const TIME_ENTRY_FAMILY = ['time_entry', 'time_entry_submit', 'time_entry_unlock'] as const

export function familyOf(entityType: string): readonly string[] {
  return (TIME_ENTRY_FAMILY as readonly string[]).includes(entityType) ? TIME_ENTRY_FAMILY : [entityType]
}

export function isTimeEntryFamily(entityType: string): boolean {
  return (TIME_ENTRY_FAMILY as readonly string[]).includes(entityType)
}

/** Rows written without a connection (seeded by hand, as the reference's testing guide does) take the company's active one. */
export async function resolveOutboxConnections(db: Kysely<Database>): Promise<number> {
  const result = await sql`
    update align_sync_outbox o set connection_id = c.id
      from align_connections c
     where o.connection_id is null and o.status = 'pending'
       and c.tenant_id = o.tenant_id and c.company_id = o.company_id and c.status = 'active'`.execute(db)
  return Number(result.numAffectedRows ?? 0)
}

export interface ClaimOptions {
  now: Date
  leaseToken: string
  leaseMs: number
  /** Rows claimed in all. */
  limit: number
  /** Rows of one connection per claim, so one tenant's backlog cannot fill the batch. */
  perConnection: number
  /** Connections whose id sorts after this one go first (round-robin between claims). */
  cursor: string
  /** Only claim this connection's unlinked-or-not user upserts (topping up a bulk invite). */
  onlyUsersOf?: string
  /**
   * Only these connections (the worker's claim on NOTIFY: the connections the notifications named that it has
   * nothing of in hand). Without it every active connection is a candidate.
   */
  onlyConnections?: string[]
  /** Skip these connections (the claim on a NOTIFY that named none: every connection the worker has nothing of in hand). */
  excludeConnections?: string[]
}

/**
 * Claims due rows fairly. For each active, unpaused connection a LATERAL subquery walks its pending rows in
 * commit order (align_sync_outbox_connection_idx: connection, status, seq) and locks up to `perConnection` of them with SKIP
 * LOCKED, so concurrent claimers never wait on each other and never get the same row. The outer query
 * interleaves connections (every connection's 1st row, then every 2nd, …) starting after `cursor`, so a
 * tenant with 100k pending rows delays another tenant's single row by at most one claim.
 *
 * Due means next_retry_at ≤ the later of our clock and the database's: a row committed a moment ago carries
 * the database's clock (microseconds), and a worker whose clock lags must still see it at once.
 *
 * A row is a candidate only when no earlier row of its family and entity is still pending or processing:
 * rows of one entity run in order, and a submit never overtakes its create. The check reads the statement's
 * snapshot, so two claimers racing on one entity both see the earlier row and skip the later one.
 */
export async function claimDueOutboxRows(db: Kysely<Database>, o: ClaimOptions): Promise<ClaimedRow[]> {
  const expires = new Date(o.now.getTime() + o.leaseMs)
  const onlyUsers = o.onlyUsersOf ?? null
  const exclude = o.excludeConnections ?? []
  const only = o.onlyConnections ?? null
  const result = await sql<ClaimedRow>`${sql.raw(PREPARED)}
    with picked as (
      select x.id, x.last_attempt_at as prev_attempt_at,
             row_number() over (partition by c.id order by x.seq) as rn, c.id as connection_id,
             c.status::text as connection_status, c.encrypted_api_key as connection_encrypted_api_key, c.paused_until as connection_paused_until,
             c.field_mappings as connection_field_mappings
        from align_connections c
        cross join lateral (
          select o.id, o.seq, o.last_attempt_at
            from align_sync_outbox o
           where o.connection_id = c.id and o.status = 'pending' and o.next_retry_at <= greatest(${o.now}::timestamptz, now())
             and (${onlyUsers}::text is null or (o.entity_type = 'user' and o.operation = 'upsert'))
             and not exists (
               select 1 from align_sync_outbox e
                where e.tenant_id = o.tenant_id and e.local_id = o.local_id
                  and e.entity_type = any(case when o.entity_type in ('time_entry', 'time_entry_submit', 'time_entry_unlock')
                                              then array['time_entry', 'time_entry_submit', 'time_entry_unlock']
                                              else array[o.entity_type] end)
                  and e.seq < o.seq and e.status in ('pending', 'processing'))
           order by o.seq
           limit ${o.perConnection}
           for update of o skip locked
        ) x
       where c.status = 'active' and (c.paused_until is null or c.paused_until <= ${o.now})
         and (${onlyUsers}::text is null or c.id = ${onlyUsers}) and c.id <> all(${exclude}::text[])
         and (${only}::text[] is null or c.id = any(${only}::text[]))
       order by rn, c.id <= ${o.cursor}, c.id
       limit ${o.limit}
    )
    update align_sync_outbox o
       set status = 'processing', lease_token = ${o.leaseToken}, lease_expires_at = ${expires},
           last_attempt_at = ${o.now}, waiting_for = null
      from picked
     where o.id = picked.id
    returning o.*, picked.prev_attempt_at, picked.connection_status, picked.connection_encrypted_api_key, picked.connection_paused_until,
      case when picked.rn = 1 then picked.connection_field_mappings end as connection_field_mappings, now() as connection_read_at,
      (o.operation = 'upsert' and exists (
        select 1 from align_sync_outbox f
         where f.tenant_id = o.tenant_id and f.local_id = o.local_id and f.status = 'pending' and f.seq > o.seq
           and f.entity_type = any(case when o.entity_type in ('time_entry', 'time_entry_submit', 'time_entry_unlock')
                                        then array['time_entry', 'time_entry_submit', 'time_entry_unlock']
                                        else array[o.entity_type] end))) as has_followers`.execute(db)
  return result.rows.sort((a, b) => Number(a.seq) - Number(b.seq))
}

/**
 * The pending rows right behind claimed heads, for coalescing: later upserts of the same entity carry newer
 * snapshots. Nobody else can claim them (their head is processing), so reading then attaching is safe.
 */
export async function findRowsBehind(
  db: Kysely<Database>,
  heads: ReadonlyArray<Pick<ClaimedRow, 'tenant_id' | 'local_id'>>,
  entityTypes: readonly string[],
): Promise<AlignSyncOutboxRow[]> {
  if (heads.length === 0) return []
  const result = await sql<AlignSyncOutboxRow>`
    select o.* from align_sync_outbox o
     where o.status = 'pending' and o.entity_type = any(${entityTypes as string[]}::text[])
       and (o.tenant_id, o.local_id) in (select * from unnest(${heads.map((h) => h.tenant_id)}::text[], ${heads.map((h) => h.local_id)}::text[]))
     order by o.seq`.execute(db)
  return result.rows
}

/** Puts coalesced rows under the head's lease; returns the ids actually attached. */
export async function attachRowsToLease(db: Kysely<Database>, ids: string[], leaseToken: string, leaseExpiresAt: Date): Promise<string[]> {
  if (ids.length === 0) return []
  const rows = await db.updateTable('align_sync_outbox')
    .set({ status: 'processing', lease_token: leaseToken, lease_expires_at: leaseExpiresAt, waiting_for: null })
    .where('id', 'in', ids).where('status', '=', 'pending')
    .returning('id').execute()
  return rows.map((r) => r.id)
}

/** Heartbeat: keeps the lease of rows whose Align call is still running. */
export async function extendLease(db: Kysely<Database>, ids: string[], leaseToken: string, leaseExpiresAt: Date): Promise<number> {
  if (ids.length === 0) return 0
  const result = await db.updateTable('align_sync_outbox')
    .set({ lease_expires_at: leaseExpiresAt })
    .where('id', 'in', ids).where('lease_token', '=', leaseToken).where('status', '=', 'processing')
    .executeTakeFirst()
  return Number(result.numUpdatedRows)
}

/**
 * Rows whose lease expired (the worker died or lost the database mid-call) go back to pending. The call may
 * have reached Align, so this counts as an attempt: the next one looks the entity up by externalRef before
 * creating it, and a row that keeps killing its worker ends as a dead letter instead of looping.
 */
export async function releaseExpiredLeases(db: Kysely<Database>, now: Date, maxAttempts: number): Promise<Array<{ id: string; status: string }>> {
  const result = await sql<{ id: string; status: string }>`
    with released as (
      update align_sync_outbox
         set status = (case when attempts + 1 >= ${maxAttempts} then 'failed' else 'pending' end)::align_sync_status,
             attempts = attempts + 1, next_retry_at = ${now}, lease_token = null, lease_expires_at = null,
             error = 'lease expired: the worker stopped or lost its database connection during the Align call'
       where status = 'processing' and lease_expires_at < ${now}
      returning id, status, tenant_id, entity_type, local_id, error
    ), entries as (
      update time_entries t set sync_status = 'error', sync_error = r.error
        from released r
       where r.status = 'failed' and r.entity_type in ('time_entry', 'time_entry_submit', 'time_entry_unlock')
         and t.id = r.local_id and t.tenant_id = r.tenant_id
    )
    select id, status::text from released`.execute(db)
  return result.rows
}

export interface LinkWrite {
  externalType: string
  externalId: string
  alignEntityType: string
  alignEntityId: string
}

export interface FinishDone {
  ids: string[]
  leaseToken: string
  now: Date
  tenantId: string
  companyId: string
  connectionId: string
  links: LinkWrite[]
  deleteLinks: Array<{ externalType: string; externalId: string }>
  /** Time entry whose sync_status becomes synced. */
  timeEntryId: string | null
  /** waiting_for keys to wake (this row's link landed). */
  wake: string[]
}

/**
 * Finishes rows in one statement (so one round trip, and atomic): the rows become done only if every one
 * of them still carries our lease token; only then are the links written or removed, the connection's
 * last_sync_at moved (at most once a second, so concurrent finishes do not queue on that row), the time
 * entry marked synced. Afterwards (after the commit) the worker wakes the rows waiting for this link (see
 * wakeWaitingRows). Returns false for a stale finisher.
 */
export async function finishOutboxRows(db: Kysely<Database>, f: FinishDone): Promise<{ finished: boolean }> {
  // Only the parts this finish needs go into the statement: planning is most of its cost.
  const guard = f.ids.length === 1
    ? sql`id = ${f.ids[0]!}`
    : sql`id = any(${f.ids}::text[])
         and (select count(*) from align_sync_outbox h
               where h.id = any(${f.ids}::text[]) and h.lease_token = ${f.leaseToken} and h.status = 'processing') = ${f.ids.length}`
  const parts = [sql`finished as (
      update align_sync_outbox
         set status = 'done', lease_token = null, lease_expires_at = null, error = null, waiting_for = null
       where ${guard} and lease_token = ${f.leaseToken} and status = 'processing'
      returning id
    )`]
  if (f.links.length > 0) {
    const rows = sql.join(f.links.map((l) => sql`(${f.tenantId}, ${f.companyId}, ${l.externalType}, ${l.externalId}, ${l.alignEntityType}, ${l.alignEntityId})`))
    parts.push(sql`put_links as (
      insert into align_entity_links (tenant_id, company_id, external_type, external_id, align_entity_type, align_entity_id)
      select v.* from (values ${rows}) as v(tenant_id, company_id, et, eid, at, aid) where exists (select 1 from finished)
      on conflict (tenant_id, external_type, external_id) do update
         set align_entity_type = excluded.align_entity_type, align_entity_id = excluded.align_entity_id
       where align_entity_links.align_entity_id is distinct from excluded.align_entity_id
    )`)
  }
  if (f.deleteLinks.length > 0) {
    const keys = sql.join(f.deleteLinks.map((l) => sql`(${l.externalType}, ${l.externalId})`))
    parts.push(sql`drop_links as (
      delete from align_entity_links
       where tenant_id = ${f.tenantId} and (external_type, external_id) in (${keys}) and exists (select 1 from finished)
    )`)
  }
  parts.push(sql`conn as (
      update align_connections set last_sync_at = ${f.now}
       where id = ${f.connectionId} and exists (select 1 from finished)
         and (last_sync_at is null or last_sync_at < ${new Date(f.now.getTime() - 1000)})
    )`)
  if (f.timeEntryId !== null) {
    parts.push(sql`entry as (
      update time_entries set sync_status = 'synced', sync_error = null
       where id = ${f.timeEntryId} and tenant_id = ${f.tenantId} and exists (select 1 from finished)
    )`)
  }
  const result = await sql<{ ok: boolean }>`with ${sql.join(parts)} select exists (select 1 from finished) as ok`.execute(db)
  return { finished: Boolean(result.rows[0]?.ok) }
}

/**
 * Finishes many units in one statement (completion batching, as graphile-worker's completeJobBatchDelay):
 * each row becomes done only if it still carries its unit's lease token, and a unit's links, time entry and
 * connection are written only for rows that did. Returns the ids finished. A statement error (e.g. a unique
 * link conflict) fails the whole batch; the caller then finishes the units one by one.
 */
export async function finishOutboxRowsBatch(db: Kysely<Database>, items: FinishDone[]): Promise<Set<string>> {
  const now = new Date(Math.max(...items.map((f) => f.now.getTime())))
  const rows = items.flatMap((f) => f.ids.map((id) => ({ id, token: f.leaseToken })))
  const links = items.flatMap((f) => f.links.map((l) => ({ owner: f.ids[0]!, tenant: f.tenantId, company: f.companyId, ...l })))
  const drops = items.flatMap((f) => f.deleteLinks.map((l) => ({ owner: f.ids[0]!, tenant: f.tenantId, ...l })))
  const entries = items.filter((f) => f.timeEntryId !== null).map((f) => ({ owner: f.ids[0]!, tenant: f.tenantId, id: f.timeEntryId! }))
  const result = await sql<{ id: string }>`${sql.raw(PREPARED)}
    with finished as (
      update align_sync_outbox o
         set status = 'done', lease_token = null, lease_expires_at = null, error = null, waiting_for = null
        from unnest(${rows.map((r) => r.id)}::text[], ${rows.map((r) => r.token)}::text[]) as v(id, token)
       where o.id = v.id and o.lease_token = v.token and o.status = 'processing'
      returning o.id, o.connection_id
    ), put_links as (
      insert into align_entity_links (tenant_id, company_id, external_type, external_id, align_entity_type, align_entity_id)
      select l.tenant_id, l.company_id, l.et, l.eid, l.at, l.aid
        from unnest(${links.map((l) => l.owner)}::text[], ${links.map((l) => l.tenant)}::text[], ${links.map((l) => l.company)}::text[],
                    ${links.map((l) => l.externalType)}::text[], ${links.map((l) => l.externalId)}::text[],
                    ${links.map((l) => l.alignEntityType)}::text[], ${links.map((l) => l.alignEntityId)}::text[])
             as l(owner, tenant_id, company_id, et, eid, at, aid)
       where l.owner in (select id from finished)
      on conflict (tenant_id, external_type, external_id) do update
         set align_entity_type = excluded.align_entity_type, align_entity_id = excluded.align_entity_id
       where align_entity_links.align_entity_id is distinct from excluded.align_entity_id
    ), drop_links as (
      delete from align_entity_links d
       using unnest(${drops.map((l) => l.owner)}::text[], ${drops.map((l) => l.tenant)}::text[], ${drops.map((l) => l.externalType)}::text[],
                    ${drops.map((l) => l.externalId)}::text[]) as x(owner, tenant_id, et, eid)
       where d.tenant_id = x.tenant_id and d.external_type = x.et and d.external_id = x.eid and x.owner in (select id from finished)
    ), conn as (
      update align_connections set last_sync_at = ${now}
       where id in (select connection_id from finished)
         and (last_sync_at is null or last_sync_at < ${new Date(now.getTime() - 1000)})
    ), entry as (
      update time_entries t set sync_status = 'synced', sync_error = null
        from unnest(${entries.map((e) => e.owner)}::text[], ${entries.map((e) => e.tenant)}::text[], ${entries.map((e) => e.id)}::text[]) as e(owner, tenant_id, id)
       where t.id = e.id and t.tenant_id = e.tenant_id and e.owner in (select id from finished)
    )
    select id from finished`.execute(db)
  return new Set(result.rows.map((r) => r.id))
}

/**
 * Wakes the rows parked on these (tenant, key) pairs; returns the connections of the rows woken. Its own
 * statement, run after the links' finishes committed (the worker batches them): its snapshot then sees every
 * park that committed before it, and a park that commits later sees the link (see parkOutboxRows), so no
 * wake-up is lost.
 */
export async function wakeWaitingRows(db: Kysely<Database>, keys: Array<{ tenantId: string; key: string }>, now: Date): Promise<string[]> {
  if (keys.length === 0) return []
  const result = await sql<{ connection_id: string | null }>`${sql.raw(PREPARED)}
    update align_sync_outbox set next_retry_at = ${now}, waiting_for = null
     where status = 'pending' and waiting_for is not null
       and (tenant_id, waiting_for) in (select * from unnest(${keys.map((k) => k.tenantId)}::text[], ${keys.map((k) => k.key)}::text[]))
    returning connection_id`.execute(db)
  return [...new Set(result.rows.map((r) => r.connection_id).filter((c): c is string => c !== null))]
}

/**
 * A membership is one thing in Align however many engagements point at it: when another engagement's link
 * holds this Align id, it is removed so the newest engagement's link can take it (unique per Align id).
 */
export async function dropLinksHoldingAlignIds(db: Kysely<Database>, tenantId: string, links: LinkWrite[]): Promise<number> {
  let n = 0
  for (const l of links) {
    const result = await db.deleteFrom('align_entity_links')
      .where('tenant_id', '=', tenantId).where('align_entity_type', '=', l.alignEntityType).where('align_entity_id', '=', l.alignEntityId)
      .where('external_id', '!=', l.externalId)
      .executeTakeFirst()
    n += Number(result.numDeletedRows)
  }
  return n
}

export interface FinishFailed {
  ids: string[]
  leaseToken: string
  now: Date
  tenantId: string
  connectionId: string
  /** Attempts already spent by the head row (before this failure). */
  attempts: number
  retryDelaysMs: readonly number[]
  /** Straight to the dead letter (400/404/422, invalid payload). */
  permanent: boolean
  /** Stored on the row and, for a dead letter, on the connection and the time entry: no payload, no secret. */
  error: string
  timeEntryId: string | null
}

/**
 * A failed attempt: backoff (1 min, 5 min, 30 min, 2 h, 8 h by default) or, once the delays are spent or
 * the failure is permanent, the dead letter, which also records the error on the connection and the entry.
 */
export async function failOutboxRows(db: Kysely<Database>, f: FinishFailed): Promise<{ status: 'pending' | 'failed' | 'stale'; nextRetryAt: Date | null }> {
  const dead = f.permanent || f.attempts >= f.retryDelaysMs.length
  const delay = dead ? 0 : f.retryDelaysMs[f.attempts]!
  const nextRetryAt = new Date(f.now.getTime() + delay)
  const error = f.error.slice(0, 1000)
  const result = await sql<{ n: number }>`
    with failed as (
      update align_sync_outbox
         set status = ${dead ? 'failed' : 'pending'}::align_sync_status, attempts = attempts + 1, next_retry_at = ${nextRetryAt},
             error = ${error}, lease_token = null, lease_expires_at = null, waiting_for = null
       where id = any(${f.ids}::text[]) and lease_token = ${f.leaseToken} and status = 'processing'
      returning id
    ), conn as (
      update align_connections set last_error_at = ${f.now}, last_error_message = ${error.slice(0, 500)}
       where id = ${f.connectionId} and ${dead} and exists (select 1 from failed)
    ), entry as (
      update time_entries set sync_status = 'error', sync_error = ${error.slice(0, 500)}
       where id = ${f.timeEntryId} and tenant_id = ${f.tenantId} and ${dead} and exists (select 1 from failed)
    )
    select count(*)::int as n from failed`.execute(db)
  if (!result.rows[0]?.n) return { status: 'stale', nextRetryAt: null }
  return { status: dead ? 'failed' : 'pending', nextRetryAt: dead ? null : nextRetryAt }
}

export interface ReleaseRows {
  ids: string[]
  /** last_attempt_at before the claim, per id: nothing reached Align, so the row must not look like a retry. */
  prevAttemptAt: Array<Date | null>
  leaseToken: string
  /** When the rows become due again. */
  at: Date
  reason: string
}

/** Back to pending without spending an attempt (rate budget, 429 pause, key rejected, shutdown). */
export async function releaseOutboxRows(db: Kysely<Database>, r: ReleaseRows): Promise<number> {
  if (r.ids.length === 0) return 0
  const result = await sql`
    update align_sync_outbox o
       set status = 'pending', lease_token = null, lease_expires_at = null, next_retry_at = ${r.at}, error = ${r.reason.slice(0, 1000)},
           last_attempt_at = v.prev
      from unnest(${r.ids}::text[], ${r.prevAttemptAt}::timestamptz[]) as v(id, prev)
     where o.id = v.id and o.lease_token = ${r.leaseToken} and o.status = 'processing'`.execute(db)
  return Number(result.numAffectedRows ?? 0)
}

/** What a parked row waits for: an external link (our id) or, for a membership, an Align id. */
export interface DependencyTarget {
  key: string
  externalType?: string
  externalId?: string
  alignEntityType?: string
  alignEntityId?: string
}

/**
 * Parks rows until a dependency's link lands, without spending an attempt. No wake-up is lost to a finish
 * racing with the park: the finish commits the link (F), then wakes in a new statement (W); the park (P) and a
 * re-check after P committed (P2) both look for the link. If P2 misses the link, F committed after P2 began,
 * so W began after P committed and sees the parked row. `recheckAt` only covers links written elsewhere
 * (webhook-ingest).
 */
export async function parkOutboxRows(
  db: Kysely<Database>,
  p: { ids: string[]; prevAttemptAt: Array<Date | null>; leaseToken: string; tenantId: string; now: Date; recheckAt: Date; target: DependencyTarget; reason: string },
): Promise<number> {
  const t = p.target
  const landed = sql<boolean>`exists (
    select 1 from align_entity_links l
     where l.tenant_id = ${p.tenantId}
       and ((l.external_type = ${t.externalType ?? null} and l.external_id = ${t.externalId ?? null})
         or (l.align_entity_type = ${t.alignEntityType ?? null} and l.align_entity_id = ${t.alignEntityId ?? null})))`
  const parked = await sql`
    update align_sync_outbox o
       set status = 'pending', lease_token = null, lease_expires_at = null, error = ${p.reason}, last_attempt_at = v.prev,
           waiting_for = case when ${landed} then null else ${t.key} end,
           next_retry_at = case when ${landed} then ${p.now} else ${p.recheckAt}::timestamptz end
      from unnest(${p.ids}::text[], ${p.prevAttemptAt}::timestamptz[]) as v(id, prev)
     where o.id = v.id and o.lease_token = ${p.leaseToken} and o.status = 'processing'`.execute(db)
  await sql`
    update align_sync_outbox set next_retry_at = ${p.now}, waiting_for = null
     where id = any(${p.ids}::text[]) and status = 'pending' and waiting_for = ${t.key} and ${landed}`.execute(db)
  return Number(parked.numAffectedRows ?? 0)
}

export interface LinkRow {
  external_type: string
  external_id: string
  align_entity_type: string
  align_entity_id: string
}

/** The links of one tenant for these (external_type, external_id) pairs. */
export async function findLinks(db: Kysely<Database>, tenantId: string, keys: Array<{ type: string; id: string }>): Promise<LinkRow[]> {
  if (keys.length === 0) return []
  // One text per key count (1–3 in practice), so each stays prepared.
  const result = await sql<LinkRow>`${sql.raw(PREPARED)}
    select external_type, external_id, align_entity_type, align_entity_id from align_entity_links
     where tenant_id = ${tenantId}
       and (external_type, external_id) in (${sql.join(keys.map((k) => sql`(${k.type}, ${k.id})`))})`.execute(db)
  return result.rows
}

export interface LinkKey {
  tenantId: string
  type: string
  id: string
}

/** A project membership asked for by its two sides' Illumera ids: the link whose Align id is `<alignProjectId>:<alignUserId>`. */
export interface MembershipKey {
  tenantId: string
  projectId: string
  userId: string
}

/**
 * Many lookups in one statement (the link loader batches the handlers' lookups of concurrent units):
 * `byExternal` by (external_type, external_id), and `memberships` by the project's and user's Illumera ids
 * (their links, then the membership link of the two Align ids: a time entry asks for it with its other links,
 * one round trip, not two), each within its tenant. One fixed text, so it stays prepared whatever the batch
 * size. One subquery per key on a unique index (at most one row each): its kept plan probes that index per key
 * even when the plan was made while the table was small, where a join would hash the whole table on every call
 * until the next analyze.
 */
export async function findLinksBatch(db: Kysely<Database>, byExternal: LinkKey[], memberships: MembershipKey[] = []): Promise<Array<LinkRow & { tenant_id: string }>> {
  const result = await sql<LinkRow & { tenant_id: string }>`${sql.raw(PREPARED)}
    select (l).tenant_id, (l).external_type, (l).external_id, (l).align_entity_type, (l).align_entity_id
      from (
        select (select l from align_entity_links l where l.tenant_id = k.tenant_id and l.external_type = k.t and l.external_id = k.id) as l
          from unnest(${byExternal.map((k) => k.tenantId)}::text[], ${byExternal.map((k) => k.type)}::text[], ${byExternal.map((k) => k.id)}::text[]) as k(tenant_id, t, id)
        union all
        select (select m from align_entity_links p
                  join align_entity_links u on u.tenant_id = p.tenant_id and u.external_type = 'user' and u.external_id = ms.user_id
                  join align_entity_links m on m.tenant_id = p.tenant_id and m.align_entity_type = 'project_member'
                   and m.align_entity_id = p.align_entity_id || ':' || u.align_entity_id
                 where p.tenant_id = ms.tenant_id and p.external_type = 'project' and p.external_id = ms.project_id)
          from unnest(${memberships.map((k) => k.tenantId)}::text[], ${memberships.map((k) => k.projectId)}::text[], ${memberships.map((k) => k.userId)}::text[]) as ms(tenant_id, project_id, user_id)
        offset 0
      ) found
     where l is not null`.execute(db)
  return result.rows
}

export interface ConnectionRow {
  id: string
  tenant_id: string
  company_id: string
  status: string
  encrypted_api_key: string
  paused_until: Date | null
}

export async function findConnections(db: Kysely<Database>, ids: string[]): Promise<ConnectionRow[]> {
  if (ids.length === 0) return []
  return db.selectFrom('align_connections')
    .select(['id', 'tenant_id', 'company_id', 'status', 'encrypted_api_key', 'paused_until'])
    .where('id', 'in', ids).execute()
}

/** 401/403: the key was rejected; the connection stops until an admin rotates the key (PATCH /api/align/connections). */
export async function markConnectionKeyRejected(db: Kysely<Database>, connectionId: string, now: Date, message: string): Promise<void> {
  await db.updateTable('align_connections')
    .set({ status: 'error', last_error_at: now, last_error_message: message.slice(0, 500) })
    .where('id', '=', connectionId).where('status', '=', 'active')
    .execute()
}

/** Retention: deletes up to `batch` done rows created before `before`; call until it returns less than `batch`. */
export async function deleteDoneOutboxRows(db: Kysely<Database>, before: Date, batch: number): Promise<number> {
  const result = await sql`
    delete from align_sync_outbox where id in (
      select id from align_sync_outbox where status = 'done' and created_at < ${before} order by created_at limit ${batch}
    )`.execute(db)
  return Number(result.numAffectedRows ?? 0)
}

export interface OutboxDepth {
  status: string
  count: number
  oldest: Date | null
}

/** Depth and oldest row per open status (for the gauges). */
export async function readOutboxDepth(db: Kysely<Database>): Promise<OutboxDepth[]> {
  const result = await sql<{ status: string; count: number; oldest: Date | null }>`
    select status::text, count(*)::int as count, min(created_at) as oldest from align_sync_outbox
     where status in ('pending', 'processing', 'failed') group by status`.execute(db)
  return result.rows
}

export async function notifyOutbox(db: Kysely<Database>, channel: string, payload: string): Promise<void> {
  await sql`select pg_notify(${channel}, ${payload})`.execute(db)
}

export type { OutboxEntityType }
