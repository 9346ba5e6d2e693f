import pg from 'pg'
import { OUTBOX_NOTIFY_CHANNEL, TimeEntryPayload } from '@illumera/db-schema'
import { createAlignConnection, createEngagement, createTimeEntry, until, useTestDatabase } from '@illumera/test-harness'
import { createLogger, createPreparingServiceDb, createServiceDb, PREPARED_STATEMENT_MARKER } from '@illumera/service-kit'
import { Value } from '@sinclair/typebox/value'
import { sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, snapshotRows, type TestApp } from '../helpers/app.js'
import { outboxRows, seedCompany } from '../helpers/seed.js'
import { lockConnection } from '../../src/connections/connections.queries.js'
import { lockEngagement } from '../../src/engagements/engagements.queries.js'
import { createTimeEntryBatcher, type CreateTimeEntryInput } from '../../src/time-entries/time-entries.queries.js'
import { toTimeEntryView } from '../../src/time-entries/time-entry-view.js'

const t = useTestDatabase()
let h: TestApp

beforeAll(async () => {
  h = await createTestApp(t.db)
})

describe('POST /api/time-entries', () => {
  it('creates a draft entry and, with an active connection, a time_entry upsert row in the same transaction', async () => {
    const s = await seedCompany(t.db, { connected: true })
    const res = await h.app.inject({
      method: 'POST', url: '/api/time-entries', headers: await h.headers(s.talent),
      payload: { engagementId: s.engagement.id, workDate: '2026-11-03', minutes: 90, notes: 'API work' },
    })
    expect(res.statusCode).toBe(201)
    const body = res.json()
    expect(body).toMatchObject({ engagementId: s.engagement.id, projectId: s.project.id, userId: s.user.id, minutes: 90, status: 'draft', syncStatus: 'pending' })
    const rows = await outboxRows(t.db, body.id)
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ entity_type: 'time_entry', operation: 'upsert', connection_id: s.connection!.id, status: 'pending', tenant_id: s.tenant.id })
    expect(rows[0]!.payload).toEqual({
      localProjectId: s.project.id, localUserId: s.user.id, workDate: '2026-11-03', minutes: 90, notes: 'API work',
      timeBillingEnabled: true, isAdjustment: false, adjustsEntryId: null,
    })
  })

  it('answers with the entry exactly as stored (the columns it fills from the request included)', async () => {
    const s = await seedCompany(t.db, { connected: true })
    const original = await createTimeEntry(t.db, s.engagement)
    const res = await h.app.inject({
      method: 'POST', url: '/api/time-entries', headers: await h.headers(s.talent),
      payload: { engagementId: s.engagement.id, workDate: '2026-02-28', minutes: 1440, notes: 'ünïcode "quoted" \\ text', adjustsEntryId: original.id },
    })
    expect(res.statusCode).toBe(201)
    const stored = await t.db.selectFrom('time_entries').selectAll().where('id', '=', res.json().id).executeTakeFirstOrThrow()
    expect(res.json()).toEqual(toTimeEntryView(stored, s.user.id))
    expect(res.json()).toMatchObject({ workDate: '2026-02-28', minutes: 1440, notes: 'ünïcode "quoted" \\ text', isAdjustment: true, adjustsEntryId: original.id })
  })

  it('writes no outbox row when the company has no active connection', async () => {
    const s = await seedCompany(t.db)
    await createAlignConnection(t.db, s.owner, { status: 'disconnected' })
    const res = await h.app.inject({
      method: 'POST', url: '/api/time-entries', headers: await h.headers(s.talent),
      payload: { engagementId: s.engagement.id, workDate: '2026-11-03', minutes: 30 },
    })
    expect(res.statusCode).toBe(201)
    expect(await outboxRows(t.db, res.json().id)).toHaveLength(0)
  })

  it('sees a connection made a moment before the change (no cache)', async () => {
    const s = await seedCompany(t.db)
    const headers = await h.headers(s.talent)
    const first = await h.app.inject({ method: 'POST', url: '/api/time-entries', headers, payload: { engagementId: s.engagement.id, workDate: '2026-11-03', minutes: 30 } })
    expect(await outboxRows(t.db, first.json().id)).toHaveLength(0)
    const connection = await createAlignConnection(t.db, s.owner)
    const second = await h.app.inject({ method: 'POST', url: '/api/time-entries', headers, payload: { engagementId: s.engagement.id, workDate: '2026-11-04', minutes: 30 } })
    const rows = await outboxRows(t.db, second.json().id)
    expect(rows.map((r) => r.connection_id)).toEqual([connection.id])
  })

  it.each([
    [{ minutes: 0 }, 'body/minutes'],
    [{ minutes: 1441 }, 'body/minutes'],
    [{ minutes: 1.5 }, 'body/minutes'],
    [{ workDate: '03/11/2026' }, 'body/workDate'],
    [{ workDate: '2026-02-30' }, 'body/workDate'],
    [{ engagementId: undefined }, 'engagementId'],
    [{ surprise: true }, 'surprise'],
    [{ notes: { text: 'x' } }, 'body/notes'],
  ])('rejects %j with a 400 naming the field, changing no row and writing no outbox row', async (patch, field) => {
    const s = await seedCompany(t.db, { connected: true })
    const before = await snapshotRows(t.db)
    const payload: Record<string, unknown> = { engagementId: s.engagement.id, workDate: '2026-11-03', minutes: 60, ...patch }
    const res = await h.app.inject({ method: 'POST', url: '/api/time-entries', headers: await h.headers(s.talent), payload })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' })
    expect(res.json().message).toContain(field)
    expect(await snapshotRows(t.db)).toEqual(before)
  })

  it('refuses time on an engagement that is not accepted (409) and on another talent\'s engagement (404)', async () => {
    const s = await seedCompany(t.db, { connected: true })
    await t.db.updateTable('engagements').set({ status: 'offered' }).where('id', '=', s.engagement.id).execute()
    const before = await snapshotRows(t.db)
    const offered = await h.app.inject({ method: 'POST', url: '/api/time-entries', headers: await h.headers(s.talent), payload: { engagementId: s.engagement.id, workDate: '2026-11-03', minutes: 60 } })
    expect(offered.statusCode).toBe(409)
    expect(offered.json().message).toMatch(/offered.*accepted/)
    const other = await h.app.inject({
      method: 'POST', url: '/api/time-entries', headers: await h.headers({ ...s.talent, userId: 'someone-else' }),
      payload: { engagementId: s.engagement.id, workDate: '2026-11-03', minutes: 60 },
    })
    expect(other.statusCode).toBe(404)
    expect(await snapshotRows(t.db)).toEqual(before)
  })

  it('records an adjustment of an entry of the same engagement', async () => {
    const s = await seedCompany(t.db, { connected: true })
    const original = await createTimeEntry(t.db, s.engagement)
    const res = await h.app.inject({
      method: 'POST', url: '/api/time-entries', headers: await h.headers(s.admin),
      payload: { engagementId: s.engagement.id, workDate: '2026-11-03', minutes: 15, isAdjustment: true, adjustsEntryId: original.id },
    })
    expect(res.statusCode).toBe(201)
    expect(res.json()).toMatchObject({ isAdjustment: true, adjustsEntryId: original.id })
    const missing = await h.app.inject({
      method: 'POST', url: '/api/time-entries', headers: await h.headers(s.admin),
      payload: { engagementId: s.engagement.id, workDate: '2026-11-03', minutes: 15, adjustsEntryId: 'nope' },
    })
    expect(missing.statusCode).toBe(404)
  })
})

describe('POST /api/time-entries as one statement', () => {
  it('writes exactly one outbox row whose payload the worker\'s TimeEntryPayload schema accepts, and NOTIFYs after the commit', async () => {
    const s = await seedCompany(t.db, { connected: true })
    const listener = new pg.Client({ connectionString: t.url })
    await listener.connect()
    const notified: string[] = []
    try {
      listener.on('notification', (message) => { if (message.channel === OUTBOX_NOTIFY_CHANNEL) notified.push(message.payload ?? '') })
      await listener.query(`listen ${OUTBOX_NOTIFY_CHANNEL}`)
      const res = await h.app.inject({
        method: 'POST', url: '/api/time-entries', headers: await h.headers(s.talent),
        payload: { engagementId: s.engagement.id, workDate: '2026-11-05', minutes: 45 },
      })
      expect(res.statusCode).toBe(201)
      const rows = await outboxRows(t.db, res.json().id)
      expect(rows).toHaveLength(1)
      expect(Value.Check(TimeEntryPayload, rows[0]!.payload)).toBe(true)
      expect(rows[0]!.payload).toEqual({
        localProjectId: s.project.id, localUserId: s.user.id, workDate: '2026-11-05', minutes: 45, notes: null,
        timeBillingEnabled: true, isAdjustment: false, adjustsEntryId: null,
      })
      expect(res.json()).toMatchObject({ syncStatus: 'pending', notes: null, isAdjustment: false })
      for (let i = 0; i < 100 && notified.length === 0; i++) await new Promise((r) => setTimeout(r, 10))
      expect(notified).toEqual([s.connection!.id])
    } finally {
      await listener.end()
    }
  })

  it('wakes a LISTENing worker promptly after the commit: on the wake-up the row is already there to claim', async () => {
    const s = await seedCompany(t.db, { connected: true })
    const listener = new pg.Client({ connectionString: t.url })
    await listener.connect()
    // What a worker does on a wake-up: look for the rows (here, read them on another connection at once).
    const seenOnWake: Array<Promise<number>> = []
    try {
      listener.on('notification', (message) => {
        if (message.channel !== OUTBOX_NOTIFY_CHANNEL || message.payload !== s.connection!.id) return
        seenOnWake.push(t.db.selectFrom('align_sync_outbox').select('id').where('connection_id', '=', s.connection!.id).where('status', '=', 'pending').execute().then((r) => r.length))
      })
      await listener.query(`listen ${OUTBOX_NOTIFY_CHANNEL}`)
      const headers = await h.headers(s.talent)
      for (const [i, workDate] of ['2026-11-20', '2026-11-21', '2026-11-22'].entries()) {
        const res = await h.app.inject({ method: 'POST', url: '/api/time-entries', headers, payload: { engagementId: s.engagement.id, workDate, minutes: 30 } })
        expect(res.statusCode).toBe(201)
        const answeredAt = performance.now()
        // Well inside the worker's 2 s poll: the wake-up, not the poll, brings the row.
        for (; seenOnWake.length <= i && performance.now() - answeredAt < 1_000;) await new Promise((r) => setTimeout(r, 5))
        expect(seenOnWake).toHaveLength(i + 1)
        expect(await seenOnWake[i]).toBe(i + 1)
      }
    } finally {
      await listener.end()
    }
  })

  it('a wake-up that cannot be sent loses nothing: the entry and its outbox row are committed and due for the worker\'s poll', async () => {
    const s = await seedCompany(t.db, { connected: true })
    const unreachable = new URL(t.url)
    unreachable.port = '1'
    const notifyDb = createServiceDb(unreachable.toString(), createLogger({ level: 'silent' }), { name: 'api-notify-test', max: 1 })
    const app = await createTestApp(t.db, { notifyDb })
    try {
      const res = await app.app.inject({
        method: 'POST', url: '/api/time-entries', headers: await app.headers(s.talent),
        payload: { engagementId: s.engagement.id, workDate: '2026-11-23', minutes: 25 },
      })
      expect(res.statusCode).toBe(201)
      await app.app.close() // flushes the wake-up, which fails
      expect(app.logs.text).toContain('NOTIFY failed; listeners find the rows by polling')
      const rows = await outboxRows(t.db, res.json().id)
      expect(rows).toHaveLength(1)
      expect(rows[0]).toMatchObject({ status: 'pending', connection_id: s.connection!.id, attempts: 0, lease_token: null })
      expect(rows[0]!.next_retry_at.getTime()).toBeLessThanOrEqual(Date.now())
    } finally {
      await notifyDb.destroy()
    }
  })

  it('writes the entry and no outbox row without an active connection; the payload of an adjustment validates too', async () => {
    const s = await seedCompany(t.db)
    const original = await createTimeEntry(t.db, s.engagement)
    const res = await h.app.inject({
      method: 'POST', url: '/api/time-entries', headers: await h.headers(s.admin),
      payload: { engagementId: s.engagement.id, workDate: '2026-11-06', minutes: 10, adjustsEntryId: original.id },
    })
    expect(res.statusCode).toBe(201)
    expect(await outboxRows(t.db, res.json().id)).toHaveLength(0)
    expect(await t.db.selectFrom('time_entries').select(['minutes', 'is_adjustment', 'adjusts_entry_id']).where('id', '=', res.json().id).executeTakeFirst())
      .toEqual({ minutes: 10, is_adjustment: true, adjusts_entry_id: original.id })

    await createAlignConnection(t.db, s.owner)
    const withConnection = await h.app.inject({
      method: 'POST', url: '/api/time-entries', headers: await h.headers(s.admin),
      payload: { engagementId: s.engagement.id, workDate: '2026-11-07', minutes: 10, notes: 'fix', adjustsEntryId: original.id },
    })
    const rows = await outboxRows(t.db, withConnection.json().id)
    expect(rows).toHaveLength(1)
    expect(Value.Check(TimeEntryPayload, rows[0]!.payload)).toBe(true)
    expect(rows[0]!.payload).toMatchObject({ notes: 'fix', isAdjustment: true, adjustsEntryId: original.id })
  })

  it('runs as a prepared statement on the pool main.ts uses (createPreparingServiceDb), again and again', async () => {
    const s = await seedCompany(t.db, { connected: true })
    const db = createPreparingServiceDb(t.url, createLogger({ level: 'silent' }), { name: 'api-test', max: 1 })
    try {
      const app = await createTestApp(db)
      const ids: string[] = []
      for (const workDate of ['2026-11-10', '2026-11-11', '2026-11-12']) {
        const res = await app.app.inject({ method: 'POST', url: '/api/time-entries', headers: await app.headers(s.talent), payload: { engagementId: s.engagement.id, workDate, minutes: 20 } })
        expect(res.statusCode).toBe(201)
        ids.push(res.json().id)
      }
      for (const id of ids) expect(await outboxRows(t.db, id)).toHaveLength(1)
      // (The wake-up NOTIFY goes out on this pool too here, prepared as well: only the create statement is counted.)
      const prepared = await sql<{ calls: number }>`select (generic_plans + custom_plans)::integer as calls from pg_prepared_statements where statement like ${PREPARED_STATEMENT_MARKER + '%'} and statement like '%insert into time_entries%'`.execute(db)
      expect(prepared.rows).toEqual([{ calls: 3 }])
      const unknown = await app.app.inject({ method: 'POST', url: '/api/time-entries', headers: await app.headers(s.admin), payload: { engagementId: 'nope', workDate: '2026-11-13', minutes: 20 } })
      expect(unknown.statusCode).toBe(404)
      await app.app.close()
    } finally {
      await db.destroy()
    }
  })

  it('gives the exact 404 when nothing was written: an unknown engagement, another company\'s, or an adjusted entry of another engagement', async () => {
    const s = await seedCompany(t.db, { connected: true })
    const other = await seedCompany(t.db, { connected: true })
    const otherEngagement = await createEngagement(t.db, s.project, s.person.id, { status: 'accepted', accepted_at: new Date() })
    const foreignEntry = await createTimeEntry(t.db, otherEngagement)
    const before = await snapshotRows(t.db)
    const headers = await h.headers(s.admin)
    const unknown = await h.app.inject({ method: 'POST', url: '/api/time-entries', headers, payload: { engagementId: 'nope', workDate: '2026-11-03', minutes: 5 } })
    expect(unknown.statusCode).toBe(404)
    expect(unknown.json().message).toContain('nope')
    const foreign = await h.app.inject({ method: 'POST', url: '/api/time-entries', headers, payload: { engagementId: other.engagement.id, workDate: '2026-11-03', minutes: 5 } })
    expect(foreign.statusCode).toBe(404)
    const wrongAdjusted = await h.app.inject({
      method: 'POST', url: '/api/time-entries', headers, payload: { engagementId: s.engagement.id, workDate: '2026-11-03', minutes: 5, adjustsEntryId: foreignEntry.id },
    })
    expect(wrongAdjusted.statusCode).toBe(404)
    expect(wrongAdjusted.json().message).toContain(foreignEntry.id)
    expect(await snapshotRows(t.db)).toEqual(before)
  })
})

describe('POST /api/time-entries under load: concurrent creates share a statement', () => {
  const input = (s: Awaited<ReturnType<typeof seedCompany>>, extra: Partial<CreateTimeEntryInput> = {}): CreateTimeEntryInput => ({
    tenantId: s.tenant.id, companyId: s.company.id, engagementId: s.engagement.id, workDate: '2026-11-09', minutes: 30, notes: null,
    isAdjustment: false, adjustsEntryId: null, onlyUserId: s.user.id, ...extra,
  })

  /** Until the batcher's first statement waits in PostgreSQL on the row lock the test holds. */
  const untilCreateWaitsOnLock = () => until(async () => {
    const { rows } = await sql<{ n: number }>`select count(*)::integer as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock' and query like '%with input as%'`.execute(t.db)
    return rows[0]!.n === 1
  }, 'the first create to wait on the held lock')

  /** Holds engagement `id` FOR UPDATE on a connection of its own until release(): a create of it waits in PostgreSQL. */
  async function holdEngagement(id: string): Promise<{ release(): Promise<void>; close(): Promise<void> }> {
    const blocker = new pg.Client({ connectionString: t.url })
    await blocker.connect()
    await blocker.query('begin')
    await blocker.query('select id from engagements where id = $1 for update', [id])
    return { release: async () => { await blocker.query('commit') }, close: () => blocker.end() }
  }

  it('sends the creates that wait while the slot is busy as ONE statement: each its own entry and outbox row, each input scoped by its own tenant', async () => {
    const a = await seedCompany(t.db, { connected: true })
    const b = await seedCompany(t.db, { connected: true })
    const offline = await seedCompany(t.db)
    const notAccepted = await seedCompany(t.db, { connected: true })
    await t.db.updateTable('engagements').set({ status: 'ended' }).where('id', '=', notAccepted.engagement.id).execute()
    const statements: number[] = []
    const create = createTimeEntryBatcher(t.db, 1, (entries) => statements.push(entries))

    // The first create takes the one slot and waits in PostgreSQL on a lock the test holds...
    const held = await holdEngagement(a.engagement.id)
    try {
      const first = create(input(a, { minutes: 5 }))
      await untilCreateWaitsOnLock()
      // ...so these wait in the batcher and go out together when it answers.
      const batch = [
        input(a, { minutes: 10, notes: 'same engagement twice' }),
        input(b, { minutes: 20 }),
        input(a, { minutes: 11, notes: 'same engagement twice' }),
        input(b, { engagementId: a.engagement.id }), // another tenant's engagement: nothing
        input(notAccepted),                          // not accepted: nothing
        input(offline, { minutes: 40, notes: 'no connection' }),
        input(a, { onlyUserId: 'someone-else' }),    // another talent's engagement: nothing
      ].map((i) => create(i))
      await held.release()
      const created = await first
      const results = await Promise.all(batch)

      expect(created).toBeDefined()
      expect(statements).toEqual([1, 7])
      expect(results.map((r) => r === undefined)).toEqual([false, false, false, true, true, false, true])
      const ids = [created, ...results].filter((r) => r !== undefined).map((r) => r.id)
      expect(new Set(ids).size).toBe(5)
      const stored = await t.db.selectFrom('time_entries')
        .select(['id', 'tenant_id', 'company_id', 'engagement_id', 'minutes', 'notes', sql<string>`xmin::text`.as('xmin')])
        .where('id', 'in', ids).execute()
      const byId = new Map(stored.map((r) => [r.id, r]))
      // The batch is one transaction (one statement); the first create was another.
      const batchIds = [results[0], results[1], results[2], results[5]].map((r) => r!.id)
      expect(new Set(batchIds.map((id) => byId.get(id)!.xmin)).size).toBe(1)
      expect(byId.get(created!.id)!.xmin).not.toBe(byId.get(batchIds[0]!)!.xmin)
      // Each answer is its own input's entry, stored as answered.
      for (const [result, owner, minutes] of [[results[0], a, 10], [results[1], b, 20], [results[2], a, 11], [results[5], offline, 40]] as const) {
        expect(byId.get(result!.id)).toMatchObject({ tenant_id: owner.tenant.id, company_id: owner.company.id, engagement_id: owner.engagement.id, minutes })
        expect(result).toMatchObject({ engagement_id: owner.engagement.id, minutes, user_id: owner.user.id, status: 'draft', sync_status: 'pending' })
        expect(result!.outbox_connection_id).toBe(owner.connection?.id ?? null)
        const rows = await outboxRows(t.db, result!.id)
        expect(rows.map((r) => [r.tenant_id, r.connection_id, (r.payload as { minutes: number }).minutes])).toEqual(owner.connection ? [[owner.tenant.id, owner.connection.id, minutes]] : [])
      }
      // Nothing else was written: 5 entries, 4 outbox rows (the company without a connection has none).
      expect(await t.db.selectFrom('time_entries').select('id').where('company_id', 'in', [a.company.id, b.company.id, offline.company.id, notAccepted.company.id]).execute()).toHaveLength(5)
      expect(await t.db.selectFrom('align_sync_outbox').select('id').where('company_id', 'in', [a.company.id, b.company.id, offline.company.id, notAccepted.company.id]).execute()).toHaveLength(4)
    } finally {
      await held.close()
    }
  })

  it('re-runs a statement PostgreSQL refuses input by input: only the bad input fails, the others are written once', async () => {
    const s = await seedCompany(t.db, { connected: true })
    // A rule the route does not know about, so one input of the batch makes PostgreSQL refuse the whole statement.
    await sql`create function refuse_marked_entry() returns trigger language plpgsql as $$
      begin if new.notes = 'refuse me' then raise exception 'refused by test trigger'; end if; return new; end $$`.execute(t.db)
    await sql`create trigger refuse_marked_entry before insert on time_entries for each row execute function refuse_marked_entry()`.execute(t.db)
    const create = createTimeEntryBatcher(t.db, 1)
    const held = await holdEngagement(s.engagement.id)
    try {
      const first = create(input(s, { notes: 'first' }))
      await untilCreateWaitsOnLock()
      const batch = ['ok 1', 'refuse me', 'ok 2'].map((notes) => create(input(s, { notes })).then((value) => ({ value }), (err: Error) => ({ err })))
      await held.release()
      await first
      const [ok1, bad, ok2] = await Promise.all(batch)
      expect((bad as { err: Error }).err.message).toBe('refused by test trigger')
      const stored = await t.db.selectFrom('time_entries').select(['notes']).where('engagement_id', '=', s.engagement.id).execute()
      expect(stored.map((r) => r.notes).sort()).toEqual(['first', 'ok 1', 'ok 2'])
      for (const result of [ok1, ok2]) expect(await outboxRows(t.db, (result as { value: { id: string } }).value.id)).toHaveLength(1)
      expect(await t.db.selectFrom('align_sync_outbox').select('id').where('company_id', '=', s.company.id).execute()).toHaveLength(3)
    } finally {
      await held.close()
      await sql`drop trigger refuse_marked_entry on time_entries; drop function refuse_marked_entry()`.execute(t.db)
    }
  })

  it('is not held up by a transaction that holds the company\'s connection or the engagement for a change (backfill, rotate, accept/end)', async () => {
    const s = await seedCompany(t.db, { connected: true })
    const headers = await h.headers(s.talent)
    await t.db.transaction().execute(async (trx) => {
      expect(await lockConnection(trx, s.connection!.id)).toMatchObject({ id: s.connection!.id })
      expect(await lockEngagement(trx, s.owner, s.engagement.id)).toMatchObject({ id: s.engagement.id })
      // A create waiting on these locks would wait until this transaction ends, which waits for the create.
      const res = await Promise.race([
        h.app.inject({ method: 'POST', url: '/api/time-entries', headers, payload: { engagementId: s.engagement.id, workDate: '2026-11-11', minutes: 15 } }),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the create waited on the held locks')), 3_000)),
      ])
      expect(res.statusCode).toBe(201)
    })
  })

  it('answers every one of many concurrent requests of two tenants with its own entry and outbox row', async () => {
    const a = await seedCompany(t.db, { connected: true })
    const b = await seedCompany(t.db, { connected: true })
    const app = await createTestApp(t.db, { dbPoolSize: 2 })
    try {
      const requests = Array.from({ length: 30 }, (_, i) => ({ s: i % 2 ? a : b, minutes: i + 1 }))
      const answers = await Promise.all(requests.map(async ({ s, minutes }) => app.app.inject({
        method: 'POST', url: '/api/time-entries', headers: await app.headers(s.talent),
        payload: { engagementId: s.engagement.id, workDate: '2026-11-10', minutes, notes: `request ${minutes}` },
      })))
      for (const [i, res] of answers.entries()) {
        expect(res.statusCode).toBe(201)
        expect(res.json()).toMatchObject({ engagementId: requests[i]!.s.engagement.id, minutes: requests[i]!.minutes, notes: `request ${requests[i]!.minutes}` })
        const rows = await outboxRows(t.db, res.json().id)
        expect(rows.map((r) => [r.tenant_id, r.connection_id, (r.payload as { minutes: number }).minutes]))
          .toEqual([[requests[i]!.s.tenant.id, requests[i]!.s.connection!.id, requests[i]!.minutes]])
      }
      expect(await t.db.selectFrom('time_entries').select('id').where('company_id', 'in', [a.company.id, b.company.id]).execute()).toHaveLength(30)
      expect(await t.db.selectFrom('align_sync_outbox').select('id').where('company_id', 'in', [a.company.id, b.company.id]).execute()).toHaveLength(30)
      // /metrics tells operators how the creates shared statements: 30 entries in at most 30 statements.
      const metrics = (await app.app.inject({ method: 'GET', url: '/metrics' })).body
      expect(metrics).toMatch(/^api_time_entry_create_statement_entries_sum\{service="api"\} 30$/m)
      const statementCount = Number(/^api_time_entry_create_statement_entries_count\{service="api"\} (\d+)$/m.exec(metrics)?.[1])
      expect(statementCount).toBeGreaterThanOrEqual(1)
      expect(statementCount).toBeLessThanOrEqual(30)
    } finally {
      await app.app.close()
    }
  })
})

describe('time entry lifecycle', () => {
  it('edit, submit, unlock and delete write the matching outbox rows in order', async () => {
    const s = await seedCompany(t.db, { connected: true })
    const talent = await h.headers(s.talent)
    const admin = await h.headers(s.admin)
    const created = await h.app.inject({ method: 'POST', url: '/api/time-entries', headers: talent, payload: { engagementId: s.engagement.id, workDate: '2026-11-03', minutes: 60 } })
    const id = created.json().id as string

    const patched = await h.app.inject({ method: 'PATCH', url: `/api/time-entries/${id}`, headers: talent, payload: { minutes: 75, notes: 'more' } })
    expect(patched.statusCode).toBe(200)
    expect(patched.json()).toMatchObject({ minutes: 75, notes: 'more', status: 'draft' })

    const submitted = await h.app.inject({ method: 'POST', url: `/api/time-entries/${id}/submit`, headers: talent })
    expect(submitted.json()).toMatchObject({ status: 'submitted', syncStatus: 'pending' })

    const again = await h.app.inject({ method: 'POST', url: `/api/time-entries/${id}/submit`, headers: talent })
    expect(again.statusCode).toBe(409)
    expect(again.json().message).toContain('submitted')

    const editSubmitted = await h.app.inject({ method: 'PATCH', url: `/api/time-entries/${id}`, headers: talent, payload: { minutes: 10 } })
    expect(editSubmitted.statusCode).toBe(409)
    const deleteSubmitted = await h.app.inject({ method: 'DELETE', url: `/api/time-entries/${id}`, headers: talent })
    expect(deleteSubmitted.statusCode).toBe(409)

    // Align approved it (as webhook-ingest would record).
    await t.db.updateTable('time_entries').set({ status: 'approved', sync_status: 'synced' }).where('id', '=', id).execute()
    const talentUnlock = await h.app.inject({ method: 'POST', url: `/api/time-entries/${id}/unlock`, headers: talent })
    expect(talentUnlock.statusCode).toBe(403)
    const unlocked = await h.app.inject({ method: 'POST', url: `/api/time-entries/${id}/unlock`, headers: admin })
    expect(unlocked.statusCode).toBe(200)
    expect(unlocked.json()).toMatchObject({ status: 'draft', syncStatus: 'pending' })
    const unlockDraft = await h.app.inject({ method: 'POST', url: `/api/time-entries/${id}/unlock`, headers: admin })
    expect(unlockDraft.statusCode).toBe(409)

    const deleted = await h.app.inject({ method: 'DELETE', url: `/api/time-entries/${id}`, headers: talent })
    expect(deleted.statusCode).toBe(204)
    const gone = await h.app.inject({ method: 'PATCH', url: `/api/time-entries/${id}`, headers: talent, payload: { minutes: 10 } })
    expect(gone.statusCode).toBe(404)
    const row = await t.db.selectFrom('time_entries').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
    expect(row.deleted_at).not.toBeNull()

    const rows = await outboxRows(t.db, id)
    expect(rows.map((r) => `${r.entity_type}:${r.operation}`)).toEqual([
      'time_entry:upsert', 'time_entry:upsert', 'time_entry_submit:upsert', 'time_entry_unlock:upsert', 'time_entry:delete',
    ])
    expect(rows[1]!.payload).toMatchObject({ minutes: 75, notes: 'more' })
    expect(rows[4]!.payload).toBeNull()
  })

  it('editing a rejected entry moves it back to draft', async () => {
    const s = await seedCompany(t.db, { connected: true })
    const entry = await createTimeEntry(t.db, s.engagement, { status: 'rejected', rejection_reason: 'too many hours' })
    const res = await h.app.inject({ method: 'PATCH', url: `/api/time-entries/${entry.id}`, headers: await h.headers(s.talent), payload: { minutes: 30 } })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ status: 'draft', minutes: 30, rejectionReason: null })
  })

  it('a failed status change writes no outbox row', async () => {
    const s = await seedCompany(t.db, { connected: true })
    const entry = await createTimeEntry(t.db, s.engagement, { status: 'invoiced' })
    const before = await snapshotRows(t.db)
    for (const [method, url] of [['POST', 'submit'], ['POST', 'unlock'], ['DELETE', ''], ['PATCH', '']] as const) {
      const res = await h.app.inject({
        method, url: `/api/time-entries/${entry.id}${url ? `/${url}` : ''}`, headers: await h.headers(s.admin),
        ...(method === 'PATCH' ? { payload: { minutes: 5 } } : {}),
      })
      expect(res.statusCode, `${method} ${url}`).toBe(409)
      expect(res.json().message).toContain('invoiced')
    }
    expect(await snapshotRows(t.db)).toEqual(before)
  })

  it('PATCH rejects bad input with a 400 naming the field and changes nothing', async () => {
    const s = await seedCompany(t.db, { connected: true })
    const entry = await createTimeEntry(t.db, s.engagement)
    const before = await snapshotRows(t.db)
    for (const [payload, field] of [[{ minutes: 2000 }, 'minutes'], [{}, 'body'], [{ status: 'approved' }, 'status'], [{ workDate: '2026-13-01' }, 'workDate']] as const) {
      const res = await h.app.inject({ method: 'PATCH', url: `/api/time-entries/${entry.id}`, headers: await h.headers(s.talent), payload })
      expect(res.statusCode).toBe(400)
      expect(res.json().message).toContain(field)
    }
    expect(await snapshotRows(t.db)).toEqual(before)
  })
})

describe('GET /api/time-entries', () => {
  it('filters by project and status, pages with a cursor, and shows talent only their own entries', async () => {
    const s = await seedCompany(t.db)
    for (let i = 0; i < 5; i++) await createTimeEntry(t.db, s.engagement, { minutes: 10 + i, status: i < 2 ? 'submitted' : 'draft' })
    const other = await seedCompany(t.db)
    await createTimeEntry(t.db, other.engagement)

    const admin = await h.headers(s.admin)
    const first = await h.app.inject({ method: 'GET', url: `/api/time-entries?projectId=${s.project.id}&limit=3`, headers: admin })
    expect(first.statusCode).toBe(200)
    expect(first.json().data).toHaveLength(3)
    const second = await h.app.inject({ method: 'GET', url: `/api/time-entries?projectId=${s.project.id}&limit=3&cursor=${first.json().nextCursor}`, headers: admin })
    expect(second.json().data).toHaveLength(2)
    expect(second.json().nextCursor).toBeNull()
    const ids = [...first.json().data, ...second.json().data].map((e: { id: string }) => e.id)
    expect(new Set(ids).size).toBe(5)

    const submitted = await h.app.inject({ method: 'GET', url: '/api/time-entries?status=submitted', headers: admin })
    expect(submitted.json().data.map((e: { minutes: number }) => e.minutes).sort()).toEqual([10, 11])

    const stranger = await h.app.inject({ method: 'GET', url: '/api/time-entries', headers: await h.headers({ ...s.talent, userId: 'stranger' }) })
    expect(stranger.json().data).toEqual([])
    const own = await h.app.inject({ method: 'GET', url: '/api/time-entries', headers: await h.headers(s.talent) })
    expect(own.json().data).toHaveLength(5)

    const bad = await h.app.inject({ method: 'GET', url: '/api/time-entries?status=lost', headers: admin })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().message).toContain('status')
    const badCursor = await h.app.inject({ method: 'GET', url: '/api/time-entries?cursor=garbage', headers: admin })
    expect(badCursor.statusCode).toBe(400)
    expect(badCursor.json().message).toContain('cursor')
  })
})
