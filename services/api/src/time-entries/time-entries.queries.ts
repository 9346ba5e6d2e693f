import { randomUUID } from 'node:crypto'
import { type Database, type NewTimeEntry, type TimeEntry, type TimeEntryStatus, type TimeEntryUpdate } from '@illumera/db-schema'
import { createNaturalBatcher, type NaturalBatcher, PREPARED_STATEMENT_MARKER } from '@illumera/service-kit'
import { CompiledQuery, type Kysely } from 'kysely'
import { cursorText, keysetAfter, type TimeCursor } from '../http/pagination.js'
import { isStatementRefused } from '../http/pg-errors.js'
import type { CompanyScope } from '../projects/projects.queries.js'

/** What logging time on an engagement needs to know: whose it is, whether it is accepted, billing. */
export interface EngagementForTime {
  id: string
  tenant_id: string
  company_id: string
  project_id: string
  person_id: string
  status: string
  user_id: string
  time_billing_enabled: boolean
}

export function findEngagementForTime(db: Kysely<Database>, scope: CompanyScope, engagementId: string): Promise<EngagementForTime | undefined> {
  return db.selectFrom('engagements')
    .innerJoin('person_profiles', 'person_profiles.id', 'engagements.person_id')
    .innerJoin('projects', 'projects.id', 'engagements.project_id')
    .select([
      'engagements.id', 'engagements.tenant_id', 'engagements.company_id', 'engagements.project_id', 'engagements.person_id',
      'engagements.status', 'person_profiles.user_id', 'projects.time_billing_enabled',
    ])
    .where('engagements.id', '=', engagementId)
    .where('engagements.tenant_id', '=', scope.tenantId)
    .where('engagements.company_id', '=', scope.companyId)
    .executeTakeFirst()
}

export function insertTimeEntry(db: Kysely<Database>, values: NewTimeEntry): Promise<TimeEntry> {
  return db.insertInto('time_entries').values(values).returningAll().executeTakeFirstOrThrow()
}

export interface CreateTimeEntryInput {
  /** The caller's tenant and company: the engagement must be theirs. */
  tenantId: string
  companyId: string
  engagementId: string
  workDate: string
  minutes: number
  notes: string | null
  isAdjustment: boolean
  adjustsEntryId: string | null
  /** A talent may log time only on their own engagement: their users.id; null for a company admin. */
  onlyUserId: string | null
}

/** The columns a time entry's view shows (toTimeEntryView). */
export type TimeEntryViewColumns = Pick<TimeEntry,
  'id' | 'project_id' | 'engagement_id' | 'person_id' | 'work_date' | 'minutes' | 'notes' | 'status' | 'rejection_reason' | 'source' |
  'sync_status' | 'is_adjustment' | 'adjusts_entry_id' | 'created_at' | 'updated_at'>

/** `outbox_connection_id`: the connection the outbox row was written for; null when none was written. */
export type CreatedTimeEntry = TimeEntryViewColumns & { user_id: string; outbox_connection_id: string | null }

/**
 * Creating time entries, one or many, as ONE statement (one round trip, atomic like a transaction). The inputs
 * come as parallel arrays, one element per entry ($1..$10, unnested with their position `n`); for each it finds
 * the accepted engagement of that input's tenant and company (the talent's own when only_user_id is set; an
 * adjusted entry must be a live entry of that engagement), inserts the entry, and, only when the company has an
 * active connection that pushes to Align at that moment, inserts the time_entry upsert outbox row (payload =
 * OutboxPayloads['time_entry'], built with jsonb_build_object). Each entry's id comes with its input ($10, drawn
 * by the caller) so its outbox row and its answer find it even when two inputs name the same engagement.
 * It does not NOTIFY: a notifying commit waits on PostgreSQL's cluster-wide notify lock, so the caller wakes
 * the worker after the commit with the returned `outbox_connection_id` (sync/outbox-notifier.ts). The entry's
 * sync_status is 'pending' by the column default, as enqueueTimeEntryUpsert leaves it. It answers the columns
 * of the entry's view that the database fills in (the caller's values complete the view), with `n`.
 * An input whose conditions fail writes nothing and gets no row; the caller then finds out why. The others
 * are written all the same: the inputs of one call are strangers to each other (see createTimeEntryBatcher).
 *
 * The text is fixed (values are parameters, each sent once), so it is written out here rather than built per
 * call: a pool made by createPreparingServiceDb prepares it once per connection (PostgreSQL plans it once),
 * and the same string each time is cheap for the pool and pg to recognise as already prepared.
 */
const CREATE_TIME_ENTRIES_WITH_SYNC = `${PREPARED_STATEMENT_MARKER}
    with input as (
      select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::integer[], $8::text[], $9::boolean[], $10::text[])
        with ordinality as i(engagement_id, tenant_id, company_id, only_user_id, adjusts_entry_id, work_date, minutes, notes, is_adjustment, entry_id, n)
    ),
    eng as (
      select i.n, i.entry_id, i.work_date, i.minutes, i.notes, i.is_adjustment, i.adjusts_entry_id,
        e.id, e.tenant_id, e.company_id, e.project_id, e.person_id, pp.user_id, p.time_billing_enabled,
        -- the company's active connection that pushes to Align (as findOutboundConnection), or null: no outbox row
        (select c.id from align_connections c
          where c.tenant_id = e.tenant_id and c.company_id = e.company_id and c.status = 'active'
            and c.sync_direction <> 'align_to_illumera'
          limit 1) as connection_id
      from input i
      join engagements e on e.id = i.engagement_id and e.tenant_id = i.tenant_id and e.company_id = i.company_id
      join person_profiles pp on pp.id = e.person_id
      join projects p on p.id = e.project_id
      where e.status = 'accepted'
        and (i.only_user_id is null or pp.user_id = i.only_user_id)
        and (i.adjusts_entry_id is null or exists (
          select 1 from time_entries a
          where a.id = i.adjusts_entry_id and a.tenant_id = e.tenant_id and a.company_id = e.company_id
            and a.deleted_at is null and a.engagement_id = e.id))
    ),
    entry as (
      insert into time_entries (id, tenant_id, company_id, project_id, engagement_id, person_id, work_date, minutes, notes, is_adjustment, adjusts_entry_id)
      select eng.entry_id, eng.tenant_id, eng.company_id, eng.project_id, eng.id, eng.person_id, eng.work_date, eng.minutes, eng.notes,
        eng.is_adjustment, eng.adjusts_entry_id
      from eng
      returning id, project_id, person_id, status, rejection_reason, source, sync_status, created_at, updated_at
    ),
    -- A data-modifying WITH runs to completion whether or not the outer query reads it.
    outbox as (
      insert into align_sync_outbox (tenant_id, company_id, connection_id, entity_type, local_id, operation, payload)
      select eng.tenant_id, eng.company_id, eng.connection_id, 'time_entry', eng.entry_id, 'upsert',
        jsonb_build_object(
          'localProjectId', eng.project_id,
          'localUserId', eng.user_id,
          'workDate', eng.work_date,
          'minutes', eng.minutes,
          'notes', eng.notes,
          'timeBillingEnabled', eng.time_billing_enabled,
          'isAdjustment', eng.is_adjustment,
          'adjustsEntryId', eng.adjusts_entry_id)
      from eng
      where eng.connection_id is not null
    )
    select eng.n, entry.id, entry.project_id, entry.person_id, entry.status, entry.rejection_reason, entry.source, entry.sync_status,
      entry.created_at, entry.updated_at, eng.user_id, eng.connection_id as outbox_connection_id
    from entry join eng on eng.entry_id = entry.id`

/** A row of the statement: the entry's columns that the database fills in (the rest are the inputs, stored as sent), with its input's position. */
type CreatedTimeEntryRow = Omit<CreatedTimeEntry, 'engagement_id' | 'work_date' | 'minutes' | 'notes' | 'is_adjustment' | 'adjusts_entry_id'> & { n: string }

/** Creates the entries in one statement; the answer holds, per input in order, its entry or undefined when it wrote nothing. */
export async function createTimeEntriesWithSync(db: Kysely<Database>, inputs: readonly CreateTimeEntryInput[]): Promise<Array<CreatedTimeEntry | undefined>> {
  const column = <K extends keyof CreateTimeEntryInput>(key: K) => inputs.map((input) => input[key])
  const entryIds = inputs.map(() => randomUUID())
  const { rows } = await db.executeQuery<CreatedTimeEntryRow>(CompiledQuery.raw(CREATE_TIME_ENTRIES_WITH_SYNC, [
    column('engagementId'), column('tenantId'), column('companyId'), column('onlyUserId'), column('adjustsEntryId'),
    column('workDate'), column('minutes'), column('notes'), column('isAdjustment'), entryIds,
  ]))
  const created: Array<CreatedTimeEntry | undefined> = inputs.map(() => undefined)
  for (const { n, ...row } of rows) {
    const input = inputs[Number(n) - 1]!
    // These columns hold exactly the input's values (engagement_id is eng.id; text, integer and boolean columns
    // keep what was sent), so they are not sent back: fewer columns for PostgreSQL to send and pg to parse.
    created[Number(n) - 1] = {
      ...row, engagement_id: input.engagementId, work_date: input.workDate, minutes: input.minutes, notes: input.notes,
      is_adjustment: input.isAdjustment, adjusts_entry_id: input.adjustsEntryId,
    }
  }
  return created
}

/** Entries one call of createTimeEntriesWithSync writes at most (a batch waits for no more: see the batcher). */
export const MAX_TIME_ENTRIES_PER_STATEMENT = 100

/**
 * POST /api/time-entries's writer: concurrent creates share a statement when the pool is busy (a natural
 * batcher: a create that finds a free slot goes at once, alone). The inputs of one statement may belong to
 * different tenants: each input is scoped by its own tenant and company in the statement, and a statement
 * PostgreSQL refuses (a constraint, say) is re-run input by input, so one bad input fails only its own request.
 */
export function createTimeEntryBatcher(
  db: Kysely<Database>,
  maxInFlight: number,
  /** Told each statement's number of entries (the api's create-statement histogram). */
  onStatement?: (entries: number) => void,
): NaturalBatcher<CreateTimeEntryInput, CreatedTimeEntry | undefined> {
  return createNaturalBatcher({
    run: (inputs) => {
      onStatement?.(inputs.length)
      return createTimeEntriesWithSync(db, inputs)
    },
    maxInFlight,
    maxBatchSize: MAX_TIME_ENTRIES_PER_STATEMENT,
    splitOn: isStatementRefused,
  })
}

export type TimeEntryWithOwner = TimeEntry & { user_id: string; time_billing_enabled: boolean }

/** A non-deleted entry of the company, locked for a status change or edit. */
export function lockTimeEntry(db: Kysely<Database>, scope: CompanyScope, id: string): Promise<TimeEntryWithOwner | undefined> {
  return db.selectFrom('time_entries')
    .innerJoin('person_profiles', 'person_profiles.id', 'time_entries.person_id')
    .innerJoin('projects', 'projects.id', 'time_entries.project_id')
    .selectAll('time_entries')
    .select(['person_profiles.user_id', 'projects.time_billing_enabled'])
    .where('time_entries.id', '=', id)
    .where('time_entries.tenant_id', '=', scope.tenantId)
    .where('time_entries.company_id', '=', scope.companyId)
    .where('time_entries.deleted_at', 'is', null)
    .forUpdate('time_entries')
    .executeTakeFirst()
}

export function findLiveTimeEntry(db: Kysely<Database>, scope: CompanyScope, id: string): Promise<TimeEntry | undefined> {
  return db.selectFrom('time_entries').selectAll()
    .where('id', '=', id).where('tenant_id', '=', scope.tenantId).where('company_id', '=', scope.companyId).where('deleted_at', 'is', null)
    .executeTakeFirst()
}

export function updateTimeEntry(db: Kysely<Database>, id: string, values: TimeEntryUpdate): Promise<TimeEntry> {
  return db.updateTable('time_entries').set(values).where('id', '=', id).returningAll().executeTakeFirstOrThrow()
}

export interface TimeEntryFilter {
  projectId?: string | undefined
  status?: TimeEntryStatus | undefined
  /** Talent see only their own entries. */
  userId?: string | undefined
}

export function listTimeEntries(
  db: Kysely<Database>, scope: CompanyScope, filter: TimeEntryFilter, after: TimeCursor | undefined, limit: number,
): Promise<Array<TimeEntryWithOwner & { cursor_at: string }>> {
  let query = db.selectFrom('time_entries')
    .innerJoin('person_profiles', 'person_profiles.id', 'time_entries.person_id')
    .innerJoin('projects', 'projects.id', 'time_entries.project_id')
    .selectAll('time_entries')
    .select(['person_profiles.user_id', 'projects.time_billing_enabled', cursorText('time_entries.created_at').as('cursor_at')])
    .where('time_entries.tenant_id', '=', scope.tenantId)
    .where('time_entries.company_id', '=', scope.companyId)
    .where('time_entries.deleted_at', 'is', null)
  if (filter.projectId) query = query.where('time_entries.project_id', '=', filter.projectId)
  if (filter.status) query = query.where('time_entries.status', '=', filter.status)
  if (filter.userId) query = query.where('person_profiles.user_id', '=', filter.userId)
  if (after) query = query.where(keysetAfter('time_entries.created_at', 'time_entries.id', after))
  return query.orderBy('time_entries.created_at').orderBy('time_entries.id').limit(limit + 1).execute()
}
