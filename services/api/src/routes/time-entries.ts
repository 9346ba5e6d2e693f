// Time entries follow the shared state machine (db-schema time-entry-status.ts); an illegal move is a 409
// that names the current status. Talent act on their own entries only; a company admin on the company's.
import {
  canTransitionTimeEntry, type Database, EDITABLE_TIME_ENTRY_STATUSES, type TimeEntry, type TimeEntryStatus,
} from '@illumera/db-schema'
import { badRequest, conflict, notFound } from '@illumera/service-kit'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { Kysely } from 'kysely'
import { Histogram, type Registry } from 'prom-client'
import type { AuthContext } from '../auth/verify-token.js'
import { decodeTimeCursor, encodeTimeCursor, page, PageQuery } from '../http/pagination.js'
import { authErrors, IdParams, isCalendarDate, pageOf } from '../http/schemas.js'
import type { OutboxNotifier } from '../sync/outbox-notifier.js'
import {
  enqueueTimeEntryDelete, enqueueTimeEntrySubmit, enqueueTimeEntryUnlock, enqueueTimeEntryUpsert,
} from '../sync/enqueue.js'
import {
  createTimeEntryBatcher, findEngagementForTime, findLiveTimeEntry, insertTimeEntry, listTimeEntries, lockTimeEntry, type TimeEntryWithOwner, updateTimeEntry,
} from '../time-entries/time-entries.queries.js'
import { TimeEntryStatusSchema, TimeEntryView, toTimeEntryView } from '../time-entries/time-entry-view.js'

const WorkDate = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'ISO date YYYY-MM-DD' })
const Minutes = Type.Integer({ minimum: 1, maximum: 1440 })
const Notes = Type.Union([Type.String({ maxLength: 5000 }), Type.Null()])

const CreateTimeEntryBody = Type.Object({
  engagementId: Type.String({ minLength: 1, maxLength: 100 }),
  workDate: WorkDate,
  minutes: Minutes,
  notes: Type.Optional(Notes),
  isAdjustment: Type.Optional(Type.Boolean()),
  adjustsEntryId: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 100 }), Type.Null()])),
}, { additionalProperties: false })

const PatchTimeEntryBody = Type.Object({
  workDate: Type.Optional(WorkDate),
  minutes: Type.Optional(Minutes),
  notes: Type.Optional(Notes),
}, { additionalProperties: false, minProperties: 1 })

const ListQuery = Type.Object({
  projectId: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  status: Type.Optional(TimeEntryStatusSchema),
  ...PageQuery,
}, { additionalProperties: false })

function assertCalendarDate(value: string | undefined): void {
  if (value !== undefined && !isCalendarDate(value)) throw badRequest(`body/workDate ${value} is not a calendar date`, 'validation_error')
}

function illegalMove(entry: TimeEntry, action: string, to: TimeEntryStatus) {
  return conflict(`time entry ${entry.id} is ${entry.status}; it cannot be ${action} (${entry.status} → ${to} is not allowed)`, 'invalid_state')
}

export interface TimeEntryRouteOptions {
  db: Kysely<Database>
  outboxNotifier: OutboxNotifier
  /** Create statements running at once: the pool's size (more would wait for a connection; see createTimeEntryBatcher). */
  createSlots: number
  metrics: Registry
}

export const timeEntryRoutes: FastifyPluginAsyncTypebox<TimeEntryRouteOptions> = async (app, { db, outboxNotifier, createSlots, metrics }) => {
  const talentOrAdmin = app.requireRole('talent', 'company_admin')
  // How many creates share a statement: 1 under light load, more as the pool gets busy (see createTimeEntryBatcher).
  const statementEntries = new Histogram({
    name: 'api_time_entry_create_statement_entries', help: 'Time entries written by one create statement (concurrent creates share one when the pool is busy)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 100], registers: [metrics],
  })
  const createEntry = createTimeEntryBatcher(db, createSlots, (entries) => statementEntries.observe(entries))

  /** The entry, locked, when the caller may act on it; otherwise a 404 (never another person's data). */
  async function lockOwnEntry(trx: Kysely<Database>, auth: AuthContext, id: string): Promise<TimeEntryWithOwner> {
    const entry = await lockTimeEntry(trx, auth, id)
    if (!entry || (auth.role === 'talent' && entry.user_id !== auth.userId)) throw notFound('time entry', id)
    return entry
  }

  app.post('', {
    onRequest: talentOrAdmin,
    schema: { tags: ['time-entries'], body: CreateTimeEntryBody, response: { 201: TimeEntryView, ...authErrors } },
  }, async (request, reply) => {
    const { auth, body } = request
    assertCalendarDate(body.workDate)
    const adjustsEntryId = body.adjustsEntryId ?? null
    // One statement: entry + outbox row (only with an active connection), atomically, shared with the creates
    // that wait beside this one when the pool is busy; the worker's wake-up goes out after the commit (a NOTIFY
    // inside it would serialise concurrent creates on the notify lock).
    const created = await createEntry({
      tenantId: auth.tenantId, companyId: auth.companyId, engagementId: body.engagementId, workDate: body.workDate, minutes: body.minutes, notes: body.notes ?? null,
      isAdjustment: body.isAdjustment ?? adjustsEntryId !== null, adjustsEntryId,
      onlyUserId: auth.role === 'talent' ? auth.userId : null,
    })
    if (created) {
      const { user_id: userId, outbox_connection_id: connectionId, ...entry } = created
      if (connectionId) outboxNotifier.notify(connectionId)
      return reply.code(201).send(toTimeEntryView(entry, userId))
    }
    // Nothing was written: find out why, with the same checks (and messages) as before.
    const engagement = await findEngagementForTime(db, auth, body.engagementId)
    if (!engagement || (auth.role === 'talent' && engagement.user_id !== auth.userId)) throw notFound('engagement', body.engagementId)
    if (engagement.status !== 'accepted') throw conflict(`engagement ${engagement.id} is ${engagement.status}; time can only be logged on an accepted engagement`, 'invalid_state')
    if (adjustsEntryId !== null) {
      const adjusted = await findLiveTimeEntry(db, auth, adjustsEntryId)
      if (!adjusted || adjusted.engagement_id !== engagement.id) throw notFound('time entry', adjustsEntryId)
    }
    // Every check passes now, so the engagement changed under the statement (accepted a moment ago, say):
    // write it the step-by-step way, in one transaction.
    const entry = await db.transaction().execute(async (trx) => {
      const row = await insertTimeEntry(trx, {
        tenant_id: engagement.tenant_id, company_id: engagement.company_id, project_id: engagement.project_id,
        engagement_id: engagement.id, person_id: engagement.person_id, work_date: body.workDate, minutes: body.minutes,
        notes: body.notes ?? null, is_adjustment: body.isAdjustment ?? adjustsEntryId !== null, adjusts_entry_id: adjustsEntryId,
      })
      await enqueueTimeEntryUpsert(trx, row, { userId: engagement.user_id, timeBillingEnabled: engagement.time_billing_enabled })
      return row
    })
    return reply.code(201).send(toTimeEntryView(entry, engagement.user_id))
  })

  app.get('', {
    onRequest: talentOrAdmin,
    schema: { tags: ['time-entries'], querystring: ListQuery, response: { 200: pageOf(TimeEntryView), ...authErrors } },
  }, async (request) => {
    const { auth, query } = request
    const rows = await listTimeEntries(
      db, auth, { projectId: query.projectId, status: query.status, userId: auth.role === 'talent' ? auth.userId : undefined },
      decodeTimeCursor(query.cursor), query.limit,
    )
    return page(rows, query.limit, (r) => toTimeEntryView(r, r.user_id), (r) => encodeTimeCursor(r.cursor_at, r.id))
  })

  // Edits are allowed on draft and rejected entries; editing a rejected entry moves it back to draft.
  app.patch('/:id', {
    onRequest: talentOrAdmin,
    schema: { tags: ['time-entries'], params: IdParams, body: PatchTimeEntryBody, response: { 200: TimeEntryView, ...authErrors } },
  }, async (request) => {
    const { auth, body } = request
    assertCalendarDate(body.workDate)
    return db.transaction().execute(async (trx) => {
      const current = await lockOwnEntry(trx, auth, request.params.id)
      if (!EDITABLE_TIME_ENTRY_STATUSES.includes(current.status)) {
        throw conflict(`time entry ${current.id} is ${current.status}; only draft or rejected entries can be edited`, 'invalid_state')
      }
      if (current.status !== 'draft' && !canTransitionTimeEntry(current.status, 'draft')) throw illegalMove(current, 'edited', 'draft')
      const row = await updateTimeEntry(trx, current.id, {
        ...(body.workDate !== undefined ? { work_date: body.workDate } : {}),
        ...(body.minutes !== undefined ? { minutes: body.minutes } : {}),
        ...(body.notes !== undefined ? { notes: body.notes } : {}),
        ...(current.status === 'rejected' ? { status: 'draft' as const, rejection_reason: null } : {}),
      })
      if (await enqueueTimeEntryUpsert(trx, row, { userId: current.user_id, timeBillingEnabled: current.time_billing_enabled })) row.sync_status = 'pending'
      return toTimeEntryView(row, current.user_id)
    })
  })

  app.delete('/:id', {
    onRequest: talentOrAdmin,
    schema: { tags: ['time-entries'], params: IdParams, response: { 204: Type.Null(), ...authErrors } },
  }, async (request, reply) => {
    await db.transaction().execute(async (trx) => {
      const current = await lockOwnEntry(trx, request.auth, request.params.id)
      if (current.status !== 'draft') throw conflict(`time entry ${current.id} is ${current.status}; only a draft entry can be deleted`, 'invalid_state')
      const row = await updateTimeEntry(trx, current.id, { deleted_at: new Date() })
      await enqueueTimeEntryDelete(trx, row)
    })
    return reply.code(204).send(null)
  })

  app.post('/:id/submit', {
    onRequest: talentOrAdmin,
    schema: { tags: ['time-entries'], params: IdParams, response: { 200: TimeEntryView, ...authErrors } },
  }, async (request) => {
    return db.transaction().execute(async (trx) => {
      const current = await lockOwnEntry(trx, request.auth, request.params.id)
      if (!canTransitionTimeEntry(current.status, 'submitted')) throw illegalMove(current, 'submitted', 'submitted')
      const row = await updateTimeEntry(trx, current.id, { status: 'submitted' })
      if (await enqueueTimeEntrySubmit(trx, row)) row.sync_status = 'pending'
      return toTimeEntryView(row, current.user_id)
    })
  })

  // DESIGN: beyond the reference (unlock was Align-side only): approved or locked → draft, by a company admin.
  app.post('/:id/unlock', {
    onRequest: app.requireRole('company_admin'),
    schema: { tags: ['time-entries'], params: IdParams, response: { 200: TimeEntryView, ...authErrors } },
  }, async (request) => {
    return db.transaction().execute(async (trx) => {
      const current = await lockOwnEntry(trx, request.auth, request.params.id)
      // rejected → draft is an edit, not an unlock.
      if (current.status === 'rejected' || !canTransitionTimeEntry(current.status, 'draft')) throw illegalMove(current, 'unlocked', 'draft')
      const row = await updateTimeEntry(trx, current.id, { status: 'draft' })
      if (await enqueueTimeEntryUnlock(trx, row)) row.sync_status = 'pending'
      return toTimeEntryView(row, current.user_id)
    })
  })
}
