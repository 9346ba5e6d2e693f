import type { Database, NewTimeEntry, TimeEntry, TimeEntryStatus, TimeEntryUpdate } from '@illumera/db-schema'
import type { Kysely } from 'kysely'
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
