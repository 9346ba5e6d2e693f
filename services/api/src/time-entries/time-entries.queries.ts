import { type Database, type NewTimeEntry, type TimeEntry, type TimeEntryStatus, type TimeEntryUpdate } from '@illumera/db-schema'
import { PREPARED_STATEMENT_MARKER } from '@illumera/service-kit'
import { CompiledQuery, type Kysely } from 'kysely'
import { cursorText, keysetAfter, type TimeCursor } from '../http/pagination.js'
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
 * Creating a time entry as ONE statement (one round trip, atomic like a transaction): it finds the accepted
 * engagement of the caller's tenant and company (the talent's own when $4, onlyUserId, is set; an adjusted
 * entry, $5, must be a live entry of that engagement), inserts the entry, and, only when the company has an
 * active connection that pushes to Align at that moment, inserts the time_entry upsert outbox row (payload =
 * OutboxPayloads['time_entry'], built with jsonb_build_object). It does not NOTIFY: a notifying commit waits
 * on PostgreSQL's cluster-wide notify lock, so the caller wakes the worker after the commit with the returned
 * `outbox_connection_id` (sync/outbox-notifier.ts). The entry's sync_status is 'pending' by the column
 * default, as enqueueTimeEntryUpsert leaves it. It returns the columns of the entry's view only (those the
 * database fills in; the caller's values complete the view).
 * Nothing is written and no row comes back when any condition fails; the caller then finds out why.
 *
 * The text is fixed (values are parameters, each sent once), so it is written out here rather than built per
 * call: a pool made by createPreparingServiceDb prepares it once per connection (PostgreSQL plans it once),
 * and the same string each time is cheap for the pool and pg to recognise as already prepared.
 */
const CREATE_TIME_ENTRY_WITH_SYNC = `${PREPARED_STATEMENT_MARKER}
    with eng as (
      select e.id, e.tenant_id, e.company_id, e.project_id, e.person_id, pp.user_id, p.time_billing_enabled,
        -- the company's active connection that pushes to Align (as findOutboundConnection), or null: no outbox row
        (select c.id from align_connections c
          where c.tenant_id = e.tenant_id and c.company_id = e.company_id and c.status = 'active'
            and c.sync_direction <> 'align_to_illumera'
          limit 1) as connection_id
      from engagements e
      join person_profiles pp on pp.id = e.person_id
      join projects p on p.id = e.project_id
      where e.id = $1::text and e.tenant_id = $2::text and e.company_id = $3::text
        and e.status = 'accepted'
        and ($4::text is null or pp.user_id = $4::text)
        and ($5::text is null or exists (
          select 1 from time_entries a
          where a.id = $5::text and a.tenant_id = e.tenant_id and a.company_id = e.company_id
            and a.deleted_at is null and a.engagement_id = e.id))
    ),
    entry as (
      insert into time_entries (tenant_id, company_id, project_id, engagement_id, person_id, work_date, minutes, notes, is_adjustment, adjusts_entry_id)
      select eng.tenant_id, eng.company_id, eng.project_id, eng.id, eng.person_id, $6::text, $7::integer, $8::text, $9::boolean, $5::text
      from eng
      returning *
    ),
    -- A data-modifying WITH runs to completion whether or not the outer query reads it.
    outbox as (
      insert into align_sync_outbox (tenant_id, company_id, connection_id, entity_type, local_id, operation, payload)
      select entry.tenant_id, entry.company_id, eng.connection_id, 'time_entry', entry.id, 'upsert',
        jsonb_build_object(
          'localProjectId', entry.project_id,
          'localUserId', eng.user_id,
          'workDate', entry.work_date,
          'minutes', entry.minutes,
          'notes', entry.notes,
          'timeBillingEnabled', eng.time_billing_enabled,
          'isAdjustment', entry.is_adjustment,
          'adjustsEntryId', entry.adjusts_entry_id)
      from entry, eng
      where eng.connection_id is not null
    )
    select entry.id, entry.project_id, entry.person_id, entry.status, entry.rejection_reason, entry.source, entry.sync_status,
      entry.created_at, entry.updated_at, eng.user_id, eng.connection_id as outbox_connection_id
    from entry, eng`

/** What the statement returns: the entry's columns that the database fills in (the rest are the parameters, stored as sent). */
type CreatedTimeEntryRow = Omit<CreatedTimeEntry, 'engagement_id' | 'work_date' | 'minutes' | 'notes' | 'is_adjustment' | 'adjusts_entry_id'>

export async function createTimeEntryWithSync(db: Kysely<Database>, scope: CompanyScope, input: CreateTimeEntryInput): Promise<CreatedTimeEntry | undefined> {
  const { rows } = await db.executeQuery<CreatedTimeEntryRow>(CompiledQuery.raw(CREATE_TIME_ENTRY_WITH_SYNC, [
    input.engagementId, scope.tenantId, scope.companyId, input.onlyUserId, input.adjustsEntryId,
    input.workDate, input.minutes, input.notes, input.isAdjustment,
  ]))
  const row = rows[0]
  if (!row) return undefined
  // These columns hold exactly the parameters ($1 is eng.id; text, integer and boolean columns keep what was sent),
  // so they are not sent back: fewer columns for PostgreSQL to send and pg to describe and parse per call.
  return {
    ...row, engagement_id: input.engagementId, work_date: input.workDate, minutes: input.minutes, notes: input.notes,
    is_adjustment: input.isAdjustment, adjusts_entry_id: input.adjustsEntryId,
  }
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
