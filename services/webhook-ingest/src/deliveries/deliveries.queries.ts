// SQL of the delivery pipeline: connection look-up, recording, locking, replay detection, pruning.
import type { AlignConnection, AlignDeliveryStatus, Database, TimeEntryStatus, TimeEntryUpdate } from '@illumera/db-schema'
import { PREPARED_STATEMENT_MARKER } from '@illumera/service-kit'
import { CompiledQuery, type Kysely, type QueryCreator, sql, type Transaction } from 'kysely'

/** The connection columns the ingest needs; never the API key. */
export type ReceivingConnection = Pick<
  AlignConnection,
  | 'id' | 'tenant_id' | 'company_id' | 'align_org_id' | 'status' | 'webhook_secret' | 'previous_webhook_secret' | 'previous_webhook_secret_expires_at'
  | 'sync_direction'
>
  & {
    /** updated_at as text (microseconds, exact): the fast path checks the row is unchanged. */
    row_version: string
  }

const RECEIVING_STATUSES = ['active', 'error'] as const

const connectionColumns = [
  'id', 'tenant_id', 'company_id', 'align_org_id', 'status', 'webhook_secret', 'previous_webhook_secret', 'previous_webhook_secret_expires_at',
  // Whether entries logged in Align are imported (a settings change bumps updated_at, so a cached row is re-read).
  'sync_direction',
] as const
const rowVersion = sql<string>`updated_at::text`.as('row_version')

/**
 * Connections that may receive deliveries for an Align organisation: 'active', and 'error' (Align
 * rejected our API key, but its webhooks are still genuine). Active first; the signature picks one.
 */
export function findReceivingConnectionsByOrg(db: Kysely<Database>, alignOrgId: string): Promise<ReceivingConnection[]> {
  return db.selectFrom('align_connections')
    .select([...connectionColumns, rowVersion])
    .where('align_org_id', '=', alignOrgId)
    .where('status', 'in', RECEIVING_STATUSES)
    .where('webhook_secret', 'is not', null)
    .orderBy(sql`status = 'active'`, 'desc')
    .orderBy('created_at', 'desc')
    .limit(10)
    .execute()
}

/** The receiving connection named by the path token of its registered webhook URL. */
export function findReceivingConnectionByPathToken(db: Kysely<Database>, pathToken: string): Promise<ReceivingConnection | undefined> {
  return db.selectFrom('align_connections')
    .select([...connectionColumns, rowVersion])
    .where('webhook_path_token', '=', pathToken)
    .where('status', 'in', RECEIVING_STATUSES)
    .where('webhook_secret', 'is not', null)
    .executeTakeFirst()
}

export interface DeliveryRecord {
  deliveryId: string
  eventName: string
  connection: Pick<ReceivingConnection, 'id' | 'tenant_id' | 'company_id'>
  /** The raw body as text (valid JSON: it was parsed before recording). */
  payloadJson: string
  bodySha256: string
}

/**
 * Inserts the delivery as 'received' unless its id is already recorded. Inside the processing
 * transaction: a concurrent copy's insert waits on ours and then does nothing. True when inserted.
 */
export async function insertDeliveryIfNew(trx: Transaction<Database>, record: DeliveryRecord): Promise<boolean> {
  const inserted = await trx.insertInto('align_webhook_deliveries')
    .values({
      delivery_id: record.deliveryId,
      event_name: record.eventName,
      tenant_id: record.connection.tenant_id,
      company_id: record.connection.company_id,
      connection_id: record.connection.id,
      payload: record.payloadJson,
      body_sha256: record.bodySha256,
      status: 'received',
    })
    .onConflict((oc) => oc.column('delivery_id').doNothing())
    .returning('id')
    .executeTakeFirst()
  return inserted !== undefined
}

/**
 * The fast path's first statement, one round trip: checks that the connection row is still the one
 * the delivery was verified against (same `updated_at`, still receiving: the look-up may come from the
 * in-memory cache), inserts the delivery as 'received' unless its id is recorded (a concurrent copy
 * waits on our uncommitted row, then does nothing), and only after a successful insert takes the
 * body-hash advisory lock (same order as the careful path: delivery row, then body). Nothing is
 * inserted when the connection changed.
 */
export async function insertDeliveryAndLockBody(
  trx: Transaction<Database>,
  record: DeliveryRecord,
  connectionRowVersion: string,
): Promise<{ connectionCurrent: boolean; inserted: boolean }> {
  const c = record.connection
  const result = await sql<{ current: boolean; inserted: number; locked: number }>`
    with conn as (
      select 1 from align_connections
      where id = ${c.id} and updated_at = ${connectionRowVersion}::timestamptz and status in ('active', 'error') and webhook_secret is not null
    ), ins as (
      insert into align_webhook_deliveries (delivery_id, event_name, tenant_id, company_id, connection_id, payload, body_sha256, status)
      select ${record.deliveryId}, ${record.eventName}, ${c.tenant_id}, ${c.company_id}, ${c.id}, ${record.payloadJson}::jsonb, ${record.bodySha256}, 'received'
      where exists (select 1 from conn)
      on conflict (delivery_id) do nothing
      returning id
    ), counted as (
      select exists (select 1 from conn) as current, (select count(*) from ins)::int as inserted
    )
    select current, inserted,
      (select count(*) from (select pg_advisory_xact_lock(hashtextextended(${`align-body:${c.id}:${record.bodySha256}`}, 0)) from counted k where k.inserted = 1) l)::int as locked
    from counted`.execute(trx)
  const row = result.rows[0]!
  return { connectionCurrent: row.current, inserted: row.inserted === 1 }
}

/**
 * The fast path's last statement, one round trip: marks the delivery processed unless another delivery
 * of the same body was processed for the connection within the window (a replay that raced ours: the
 * caller rolls back and takes the careful path), together with the handler's deferred time entry
 * update when there is one. False when it was a replay (then the whole transaction must roll back).
 */
export async function markProcessedUnlessReplayed(
  trx: Transaction<Database>,
  record: DeliveryRecord,
  now: Date,
  note: string | null,
  since: Date,
  entryUpdate: { id: string; set: TimeEntryUpdate } | undefined,
): Promise<boolean> {
  // The CTE's name is not referenced by the main statement, so the builder's type stays Database's.
  const base: QueryCreator<Database> = entryUpdate
    ? (trx.with('entry_update', (db) => db.updateTable('time_entries').set(entryUpdate.set).where('id', '=', entryUpdate.id)) as unknown as QueryCreator<Database>)
    : trx
  const row = await base.updateTable('align_webhook_deliveries')
    .set({ status: 'processed', processed_at: now, error: note })
    .where('delivery_id', '=', record.deliveryId)
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('align_webhook_deliveries as other')
      .select('other.id')
      .where('other.connection_id', '=', record.connection.id)
      .where('other.body_sha256', '=', record.bodySha256)
      .where('other.status', '=', 'processed')
      .where('other.delivery_id', '<>', record.deliveryId)
      .where('other.received_at', '>', since))))
    .returning('id')
    .executeTakeFirst()
  return row !== undefined
}

/** Locks an already recorded delivery row until the transaction ends; copies of one delivery queue here. */
export async function lockDelivery(trx: Transaction<Database>, deliveryId: string): Promise<{ status: AlignDeliveryStatus } | undefined> {
  return trx.selectFrom('align_webhook_deliveries')
    .select('status')
    .where('delivery_id', '=', deliveryId)
    .forUpdate()
    .executeTakeFirst()
}

/**
 * Serialises deliveries of one signed body on one connection (released at commit), so a replay under
 * a new delivery id cannot run beside the original and both be applied.
 */
export async function lockBody(trx: Transaction<Database>, connectionId: string, bodySha256: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`align-body:${connectionId}:${bodySha256}`}, 0))`.execute(trx)
}

/** Another delivery of the same body, already processed for this connection since `since`. */
export async function findProcessedDeliveryWithBody(
  db: Kysely<Database>,
  connectionId: string,
  bodySha256: string,
  excludeDeliveryId: string,
  since: Date,
): Promise<string | undefined> {
  const row = await db.selectFrom('align_webhook_deliveries')
    .select('delivery_id')
    .where('connection_id', '=', connectionId)
    .where('body_sha256', '=', bodySha256)
    .where('status', '=', 'processed')
    .where('delivery_id', '<>', excludeDeliveryId)
    .where('received_at', '>', since)
    .limit(1)
    .executeTakeFirst()
  return row?.delivery_id
}

export async function markDeliveryProcessed(trx: Transaction<Database>, deliveryId: string, now: Date, note: string | null): Promise<void> {
  await trx.updateTable('align_webhook_deliveries')
    .set({ status: 'processed', processed_at: now, error: note })
    .where('delivery_id', '=', deliveryId)
    .execute()
}

/**
 * After the processing transaction rolled back (taking the 'received' row with it): record the delivery
 * as failed, unless a concurrent copy processed it meanwhile. Align retries it under the same id.
 */
export async function recordDeliveryFailed(db: Kysely<Database>, record: DeliveryRecord, error: string): Promise<void> {
  await db.insertInto('align_webhook_deliveries')
    .values({
      delivery_id: record.deliveryId,
      event_name: record.eventName,
      tenant_id: record.connection.tenant_id,
      company_id: record.connection.company_id,
      connection_id: record.connection.id,
      payload: record.payloadJson,
      body_sha256: record.bodySha256,
      status: 'failed',
      error,
    })
    .onConflict((oc) => oc.column('delivery_id').doUpdateSet({ status: 'failed', error }).where('align_webhook_deliveries.status', '<>', 'processed'))
    .execute()
}

/**
 * Deletes deliveries received before `olderThan`, `batchSize` rows per statement (short locks, no huge
 * transaction), until none is left. Returns how many were deleted.
 */
export async function pruneDeliveries(db: Kysely<Database>, olderThan: Date, batchSize: number): Promise<number> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError('pruneDeliveries: batchSize must be a positive integer')
  let total = 0
  for (;;) {
    const result = await db.deleteFrom('align_webhook_deliveries')
      .where('id', 'in', (eb) => eb.selectFrom('align_webhook_deliveries').select('id').where('received_at', '<', olderThan).orderBy('received_at').limit(batchSize))
      .executeTakeFirst()
    const deleted = Number(result.numDeletedRows)
    total += deleted
    if (deleted < batchSize) return total
  }
}

export interface StatusEventStatement {
  record: DeliveryRecord
  /** `row_version` of the connection the delivery was verified against. */
  connectionRowVersion: string
  /** Processed deliveries of the same body received after this are replays. */
  since: Date
  now: Date
  /** data.id (the Align time entry), and our own id from an Illumera externalRef (before a link exists). */
  alignEntryId: string | null
  illumeraEntryId: string | null
  target: TimeEntryStatus
  /** The statuses the state machine moves to `target` from (statusesWhereEventApplies). */
  appliesFrom: TimeEntryStatus[]
  /** Only for 'rejected'. */
  rejectionReason?: string | null
}

export interface StatusEventOutcome {
  connectionCurrent: boolean
  replayed: boolean
  /** The entry as locked (latest committed version), before the update; null when none was found. */
  entry: { id: string; status: TimeEntryStatus; deleted_at: Date | null } | null
  inserted: boolean
  applied: boolean
}

/** One row of applyStatusEvents' answer, in the order of its statements. */
interface StatusEventRow {
  current: boolean
  replayed: boolean
  entry_id: string | null
  entry_status: TimeEntryStatus | null
  entry_deleted_at: Date | null
  inserted: boolean
  applied: boolean
}

// The statement of applyStatusEvents. Its text is fixed (every value is a parameter: one text[] per column,
// one element per delivery), so a pool made by createPreparingServiceDb prepares it once per connection and
// nothing is compiled per call. Entries are locked in id order and deliveries inserted in id order, so two of
// these statements running side by side cannot deadlock on each other.
const STATUS_EVENTS_SQL = `${PREPARED_STATEMENT_MARKER}
with input as (
  select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
      $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[])
    with ordinality as i(delivery_id, event_name, connection_id, tenant_id, company_id, row_version, payload, body_sha256,
      align_entry_id, illumera_entry_id, target, applies_from, rejection_reason, processed_at, replay_since, ord)
), checked as (
  select i.*,
    exists (select 1 from align_connections c
      where c.id = i.connection_id and c.updated_at = i.row_version::timestamptz and c.status in ('active', 'error')
        and c.webhook_secret is not null) as current,
    exists (select 1 from align_webhook_deliveries d
      where d.connection_id = i.connection_id and d.body_sha256 = i.body_sha256 and d.status = 'processed'
        and d.delivery_id <> i.delivery_id and d.received_at > i.replay_since::timestamptz) as replayed
  from input i
), resolved as (
  select k.ord, k.tenant_id, k.company_id, coalesce(
      (select l.external_id from align_entity_links l
       where l.tenant_id = k.tenant_id and l.align_entity_type = 'time_entry' and l.align_entity_id = k.align_entry_id),
      k.illumera_entry_id) as entry_id
  from checked k
  where k.current and not k.replayed
), target as (
  select te.id, te.status, te.deleted_at, r.ord from resolved r
  join time_entries te on te.id = r.entry_id and te.tenant_id = r.tenant_id and te.company_id = r.company_id
  order by te.id
  for update of te
), claimed as (
  -- Two deliveries of one statement reaching the same entry (through a link and an externalRef): neither is
  -- written here (a row is updated once per statement); each takes the transaction.
  select t.*, count(*) over (partition by t.id) = 1 as sole from target t
), ins as (
  insert into align_webhook_deliveries (delivery_id, event_name, tenant_id, company_id, connection_id, payload, body_sha256, status, processed_at)
  select k.delivery_id, k.event_name, k.tenant_id, k.company_id, k.connection_id, k.payload::jsonb, k.body_sha256, 'processed',
    k.processed_at::timestamptz
  from checked k join claimed t on t.ord = k.ord and t.sole
  order by k.delivery_id
  on conflict (delivery_id) do nothing
  returning delivery_id
), upd as (
  update time_entries te set status = k.target::time_entry_status, sync_status = 'synced', sync_error = null,
    rejection_reason = case when k.target = 'rejected' then k.rejection_reason else te.rejection_reason end
  from claimed t join checked k on k.ord = t.ord join ins on ins.delivery_id = k.delivery_id
  where te.id = t.id and te.deleted_at is null and te.status::text = any(string_to_array(k.applies_from, ','))
  returning te.id
)
select k.current, k.replayed, t.id as entry_id, t.status::text as entry_status, t.deleted_at as entry_deleted_at,
  exists (select 1 from ins where ins.delivery_id = k.delivery_id) as inserted,
  exists (select 1 from upd where upd.id = t.id) as applied
from checked k left join claimed t on t.ord = k.ord
order by k.ord`

/**
 * Time status events in ONE statement (one round trip, one implicit transaction), each for the common case
 * only: its connection row is unchanged and still receiving, no processed delivery of the same body within
 * the window, its entry is found through its link (or our externalRef) in its company, and its delivery id is
 * new. For those it locks the entries (a concurrent copy of a delivery waits here, and its insert then does
 * nothing), records the deliveries as processed, and applies the state machine's move where the entry's status
 * is one `appliesFrom` names. For every other delivery it writes nothing and the caller takes the transactional
 * path. The caller keeps delivery ids, bodies and entries distinct within one call (status-event-batcher.ts).
 */
export async function applyStatusEvents(db: Kysely<Database>, statements: readonly StatusEventStatement[]): Promise<StatusEventOutcome[]> {
  const columns = Array.from({ length: 15 }, () => new Array<string | null>(statements.length))
  statements.forEach((s, i) => {
    const { record } = s
    const c = record.connection
    const values = [
      record.deliveryId, record.eventName, c.id, c.tenant_id, c.company_id, s.connectionRowVersion, record.payloadJson, record.bodySha256,
      s.alignEntryId, s.illumeraEntryId, s.target, s.appliesFrom.join(','), s.target === 'rejected' ? (s.rejectionReason ?? null) : null,
      s.now.toISOString(), s.since.toISOString(),
    ]
    values.forEach((value, column) => { columns[column]![i] = value })
  })
  const { rows } = await db.executeQuery<StatusEventRow>(CompiledQuery.raw(STATUS_EVENTS_SQL, columns))
  if (rows.length !== statements.length) throw new Error(`applyStatusEvents: ${rows.length} rows for ${statements.length} deliveries`)
  return rows.map((row) => ({
    connectionCurrent: row.current,
    replayed: row.replayed,
    entry: row.entry_id ? { id: row.entry_id, status: row.entry_status!, deleted_at: row.entry_deleted_at } : null,
    inserted: row.inserted,
    applied: row.applied,
  }))
}
