import { randomUUID } from 'node:crypto'
import { type AlignSandbox, startAlignSandbox } from '@illumera/align-sandbox'
import { createEngagement, createTalent, createTimeEntry, useTestDatabase } from '@illumera/test-harness'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { alignApprovedEntry, connect, insertLink, logRows, reconcile, seedLinkedProject } from './helpers/setup.js'

const t = useTestDatabase()
let sandbox: AlignSandbox

beforeAll(async () => {
  sandbox = await startAlignSandbox({ port: 0, rateLimitPerMinute: 0 })
})
afterAll(async () => {
  await sandbox.close()
})

async function approvedHere(fixture: { engagementId: string }, minutes: number) {
  const engagement = await t.db.selectFrom('engagements').selectAll().where('id', '=', fixture.engagementId).executeTakeFirstOrThrow()
  return createTimeEntry(t.db, engagement, { minutes, status: 'approved' })
}

describe('approved minutes (the reference testing-guide scenario)', () => {
  it('Align reporting 999 approved minutes against 480 here writes one approved_minutes row with align_value "999"', async () => {
    const conn = await connect(t.db, sandbox)
    const fixture = await seedLinkedProject(t.db, conn)
    const entry = await approvedHere(fixture, 480)
    await insertLink(t.db, conn, 'time_entry', entry.id, await alignApprovedEntry(sandbox, conn, fixture, 999, entry.id))
    // A deleted approved entry and a submitted one here do not count.
    const engagement = await t.db.selectFrom('engagements').selectAll().where('id', '=', fixture.engagementId).executeTakeFirstOrThrow()
    await createTimeEntry(t.db, engagement, { minutes: 30, status: 'approved', deleted_at: new Date() })
    await createTimeEntry(t.db, engagement, { minutes: 45, status: 'submitted' })

    const summary = await reconcile(t.db, sandbox, { connectionId: conn.connectionId }).run

    expect(summary.outcome).toBe('discrepancies')
    const rows = await logRows(t.db, conn.connectionId)
    expect(rows.map((r) => [r.field, r.project_id, r.illumera_value, r.align_value, r.tenant_id, r.run_id])).toEqual([
      ['approved_minutes', fixture.projectId, '480', '999', conn.tenantId, summary.runId],
    ])
    const run = await t.db.selectFrom('align_reconciliation_runs').selectAll().where('id', '=', summary.runId!).executeTakeFirstOrThrow()
    expect(run).toMatchObject({ outcome: 'discrepancies', discrepancies: 1, projects_checked: 1, connections_checked: 1, connections_incomplete: 0 })
    expect(run.finished_at).not.toBeNull()
    expect(run.align_calls).toBe(summary.alignCalls)
    expect(summary.connections[0]).toMatchObject({ status: 'discrepancies', linkCheck: 'complete', discrepancies: { approved_minutes: 1 }, alignCalls: 3 })
  })

  it('equal approved minutes on both sides agree: outcome ok, no rows', async () => {
    const conn = await connect(t.db, sandbox)
    const fixture = await seedLinkedProject(t.db, conn)
    const entry = await approvedHere(fixture, 999)
    await insertLink(t.db, conn, 'time_entry', entry.id, await alignApprovedEntry(sandbox, conn, fixture, 999, entry.id))
    const summary = await reconcile(t.db, sandbox, { connectionId: conn.connectionId }).run
    expect(summary.outcome).toBe('ok')
    expect(await logRows(t.db, conn.connectionId)).toEqual([])
  })
})

describe('approved cost', () => {
  async function costCase(invoicedCents: number) {
    const conn = await connect(t.db, sandbox)
    const fixture = await seedLinkedProject(t.db, conn)
    // 60 approved minutes at $100.00/h → Align approvedCost "100.00" → 10000 cents.
    await sandbox.control.setMemberRate(fixture.alignProjectId, fixture.alignUserId, 10_000)
    const entry = await approvedHere(fixture, 60)
    await insertLink(t.db, conn, 'time_entry', entry.id, await alignApprovedEntry(sandbox, conn, fixture, 60, entry.id))
    const engagement = await t.db.selectFrom('engagements').selectAll().where('id', '=', fixture.engagementId).executeTakeFirstOrThrow()
    // Two invoices on this engagement (summed), none elsewhere.
    await t.db.insertInto('invoices').values([
      { tenant_id: conn.tenantId, company_id: conn.companyId, engagement_id: engagement.id, amount_cents: invoicedCents - 5000 },
      { tenant_id: conn.tenantId, company_id: conn.companyId, engagement_id: engagement.id, amount_cents: 5000 },
    ]).execute()
    const summary = await reconcile(t.db, sandbox, { connectionId: conn.connectionId }).run
    return { summary, rows: await logRows(t.db, conn.connectionId), fixture }
  }

  it('a difference of exactly $1 is within tolerance', async () => {
    const { summary, rows } = await costCase(10_100)
    expect(rows).toEqual([])
    expect(summary.outcome).toBe('ok')
  })

  it('a difference beyond $1 writes approved_cost_cents with both sides in cents', async () => {
    const { summary, rows, fixture } = await costCase(10_101)
    expect(rows.map((r) => [r.field, r.project_id, r.illumera_value, r.align_value])).toEqual([
      ['approved_cost_cents', fixture.projectId, '10101', '10000'],
    ])
    expect(summary.outcome).toBe('discrepancies')
  })
})

describe('entity links across more than 100 of them', () => {
  it('finds the one missing in Align and the one missing here, and ignores entries imported from Align', async () => {
    const conn = await connect(t.db, sandbox)
    const fixture = await seedLinkedProject(t.db, conn)
    // 110 users linked on both sides → with the project and member: 112 links, two pages.
    const { users } = await seedUsers(conn, 110)
    expect(users.length).toBe(110)
    // Missing in Align: a local user link whose Align user has no integration link.
    const { user: orphan } = await createTalent(t.db, conn.tenantId)
    await insertLink(t.db, conn, 'user', orphan.id, `align-user-${randomUUID()}`)
    // Missing here: an Align user carrying our externalRef, with no local link row.
    const strayId = randomUUID()
    await conn.seed.inviteUser({ email: `stray-${strayId}@example.com`, name: 'Stray', role: 'developer', externalRef: { externalType: 'user', externalId: strayId } }, { idempotencyKey: strayId })
    // Imported from Align: a local entry with source 'align' and a link, and no integration link in Align.
    const engagement = await t.db.selectFrom('engagements').selectAll().where('id', '=', fixture.engagementId).executeTakeFirstOrThrow()
    const imported = await sandbox.control.logTimeEntry(conn.organizationId, { projectId: fixture.alignProjectId, userId: fixture.alignUserId, workDate: '2026-11-03', minutes: 15 })
    const local = await createTimeEntry(t.db, engagement, { minutes: 15, source: 'align' })
    await insertLink(t.db, conn, 'time_entry', local.id, imported.id)

    const summary = await reconcile(t.db, sandbox, { connectionId: conn.connectionId, pageSize: 50 }).run

    const rows = await logRows(t.db, conn.connectionId)
    expect(rows.map((r) => [r.field, r.illumera_value, r.align_value])).toEqual([
      ['entity_link.user', orphan.id, null],
      ['entity_link.user', null, strayId],
    ])
    expect(summary.connections[0]).toMatchObject({ linkCheck: 'complete', alignLinksRead: 114, localLinksRead: 114, status: 'discrepancies' })
  })

  it('an incomplete read of the pages reports no link findings and marks the connection incomplete', async () => {
    const conn = await connect(t.db, sandbox)
    await seedUsers(conn, 105)
    const { user: orphan } = await createTalent(t.db, conn.tenantId)
    await insertLink(t.db, conn, 'user', orphan.id, `align-user-${randomUUID()}`)
    let linkPages = 0
    const { run } = reconcile(t.db, sandbox, {
      connectionId: conn.connectionId,
      // After the first page is served, Align fails every attempt at the second (1 + 2 retries).
      onResponse: (info) => {
        if (info.path === '/integration-links' && info.status === 200 && ++linkPages === 1) void sandbox.control.setFaults({ failNextRequests: 3, status: 503 })
      },
    })
    const summary = await run
    expect(summary.outcome).toBe('incomplete')
    expect(summary.connections[0]).toMatchObject({ linkCheck: 'incomplete', status: 'incomplete' })
    expect(summary.connections[0]!.error).toMatch(/integration links not read to the end/)
    expect(await logRows(t.db, conn.connectionId)).toEqual([])
    const runRow = await t.db.selectFrom('align_reconciliation_runs').selectAll().where('id', '=', summary.runId!).executeTakeFirstOrThrow()
    expect(runRow).toMatchObject({ outcome: 'incomplete', connections_incomplete: 1 })
  })

  it('a deleted entry is no finding: gone on both sides (Align deleted it, the ingest soft-deleted it here) or its delete still on its way', async () => {
    const conn = await connect(t.db, sandbox)
    const fixture = await seedLinkedProject(t.db, conn)
    const engagement = await t.db.selectFrom('engagements').selectAll().where('id', '=', fixture.engagementId).executeTakeFirstOrThrow()
    const linkedEntry = async () => {
      const entry = await createTimeEntry(t.db, engagement, { minutes: 30 })
      const inAlign = await conn.seed.createTimeEntry(fixture.alignProjectId, {
        userId: fixture.alignUserId, workDate: entry.work_date, minutes: 30, externalRef: { externalType: 'time_entry', externalId: entry.id },
      }, { idempotencyKey: entry.id })
      await insertLink(t.db, conn, 'time_entry', entry.id, inAlign.id)
      return { entryId: entry.id, alignId: inAlign.id }
    }
    const deletedInAlign = await linkedEntry()
    const deletedHere = await linkedEntry()
    await sandbox.control.delete(deletedInAlign.alignId)
    await t.db.updateTable('time_entries').set({ deleted_at: new Date() }).where('id', 'in', [deletedInAlign.entryId, deletedHere.entryId]).execute()

    const summary = await reconcile(t.db, sandbox, { connectionId: conn.connectionId, fix: true }).run

    expect(await logRows(t.db, conn.connectionId)).toEqual([])
    expect(summary.outcome).toBe('ok')
    expect(summary.connections[0]!.fixes).toEqual({ enqueued: 0, alreadyQueued: 0, entityGone: 0, outboundOff: 0 })
  })

  async function seedUsers(conn: Awaited<ReturnType<typeof connect>>, count: number) {
    const users = []
    for (let i = 0; i < count; i++) {
      const { user } = await createTalent(t.db, conn.tenantId)
      const invite = await conn.seed.inviteUser({ email: user.email, name: user.name, role: 'developer', externalRef: { externalType: 'user', externalId: user.id } }, { idempotencyKey: user.id })
      await insertLink(t.db, conn, 'user', user.id, invite.userId)
      users.push(user)
    }
    return { users }
  }
})

describe('one connection failing does not stop the others', () => {
  it('a 401 on one connection is counted and logged while the other reconciles', async () => {
    const broken = await connect(t.db, sandbox)
    await seedLinkedProject(t.db, broken)
    await sandbox.control.revokeKey(broken.apiKey)
    const healthy = await connect(t.db, sandbox)
    const fixture = await seedLinkedProject(t.db, healthy)
    const entry = await approvedHere(fixture, 100)
    await insertLink(t.db, healthy, 'time_entry', entry.id, await alignApprovedEntry(sandbox, healthy, fixture, 999, entry.id))

    const { run, logs } = reconcile(t.db, sandbox)
    const summary = await run

    const byId = new Map(summary.connections.map((c) => [c.connectionId, c]))
    expect(byId.get(broken.connectionId)).toMatchObject({ status: 'incomplete', projectsChecked: 0 })
    expect(byId.get(broken.connectionId)!.error).toMatch(/AlignAuthError|refused the key/)
    expect(byId.get(healthy.connectionId)).toMatchObject({ status: 'discrepancies', projectsChecked: 1, linkCheck: 'complete' })
    expect(summary.outcome).toBe('incomplete')
    expect((await logRows(t.db, healthy.connectionId)).map((r) => [r.field, r.align_value])).toEqual([['approved_minutes', '999']])
    const text = logs.join('')
    expect(text).toContain('connection not reconciled to the end')
    // No key in any log line.
    expect(text).not.toContain(broken.apiKey)
    expect(text).not.toContain(healthy.apiKey)
  })
})

describe('--dry-run and --fix', () => {
  it('--dry-run reports but writes no discrepancy row, no run row and no outbox row', async () => {
    const conn = await connect(t.db, sandbox)
    const fixture = await seedLinkedProject(t.db, conn)
    await approvedHere(fixture, 480)
    const { user: orphan } = await createTalent(t.db, conn.tenantId)
    await insertLink(t.db, conn, 'user', orphan.id, 'align-user-gone')
    const runsBefore = await t.db.selectFrom('align_reconciliation_runs').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()

    const summary = await reconcile(t.db, sandbox, { connectionId: conn.connectionId, dryRun: true }).run

    expect(summary).toMatchObject({ outcome: 'discrepancies', runId: null, dryRun: true, discrepancies: 2 })
    expect(summary.connections[0]!.discrepancies).toEqual({ approved_minutes: 1, 'entity_link.user': 1 })
    expect(await logRows(t.db, conn.connectionId)).toEqual([])
    const runsAfter = await t.db.selectFrom('align_reconciliation_runs').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()
    expect(runsAfter.n).toBe(runsBefore.n)
    expect(await t.db.selectFrom('align_sync_outbox').selectAll().where('connection_id', '=', conn.connectionId).execute()).toEqual([])
  })

  it('--fix re-enqueues an upsert built from the current rows, once across two runs', async () => {
    const conn = await connect(t.db, sandbox)
    await seedLinkedProject(t.db, conn)
    const { user: orphan } = await createTalent(t.db, conn.tenantId, { name: 'Ada Orphan' })
    await insertLink(t.db, conn, 'user', orphan.id, 'align-user-gone')

    const first = await reconcile(t.db, sandbox, { connectionId: conn.connectionId, fix: true }).run
    const second = await reconcile(t.db, sandbox, { connectionId: conn.connectionId, fix: true }).run

    const outbox = await t.db.selectFrom('align_sync_outbox').selectAll().where('connection_id', '=', conn.connectionId).execute()
    expect(outbox.map((r) => [r.entity_type, r.local_id, r.operation, r.status, r.payload])).toEqual([
      ['user', orphan.id, 'upsert', 'pending', { email: orphan.email, name: 'Ada Orphan', role: 'talent', recreateIfMissing: true }],
    ])
    expect(first.connections[0]!.fixes).toEqual({ enqueued: 1, alreadyQueued: 0, entityGone: 0, outboundOff: 0 })
    expect(second.connections[0]!.fixes).toEqual({ enqueued: 0, alreadyQueued: 1, entityGone: 0, outboundOff: 0 })
  })
})

describe('--fix and the sync direction', () => {
  it('a connection that does not push to Align (align_to_illumera) gets its findings but no outbox row', async () => {
    const conn = await connect(t.db, sandbox)
    await seedLinkedProject(t.db, conn)
    await t.db.updateTable('align_connections').set({ sync_direction: 'align_to_illumera' }).where('id', '=', conn.connectionId).execute()
    const { user: orphan } = await createTalent(t.db, conn.tenantId)
    await insertLink(t.db, conn, 'user', orphan.id, 'align-user-gone')

    const summary = await reconcile(t.db, sandbox, { connectionId: conn.connectionId, fix: true }).run

    expect((await logRows(t.db, conn.connectionId)).map((r) => [r.field, r.illumera_value])).toEqual([['entity_link.user', orphan.id]])
    expect(summary.connections[0]!.fixes).toEqual({ enqueued: 0, alreadyQueued: 0, entityGone: 0, outboundOff: 1 })
    expect(await t.db.selectFrom('align_sync_outbox').selectAll().where('connection_id', '=', conn.connectionId).execute()).toEqual([])
  })
})

describe('--since', () => {
  it('checks only projects whose entries, invoices or link changed since', async () => {
    const conn = await connect(t.db, sandbox)
    const stale = await seedLinkedProject(t.db, conn)
    const fresh = await seedLinkedProject(t.db, conn)
    await approvedHere(stale, 480)
    await approvedHere(fresh, 480)
    // The database's clock stamps updated_at (a trigger), so `since` is read from it too.
    const { since } = await t.db.selectNoFrom((eb) => eb.fn<Date>('now').as('since')).executeTakeFirstOrThrow()
    await new Promise((resolve) => setTimeout(resolve, 20))
    await t.db.updateTable('time_entries').set({ notes: 'edited' }).where('project_id', '=', fresh.projectId).execute()

    const summary = await reconcile(t.db, sandbox, { connectionId: conn.connectionId, since }).run

    expect(summary.projectsChecked).toBe(1)
    expect((await logRows(t.db, conn.connectionId)).map((r) => [r.field, r.project_id])).toEqual([['approved_minutes', fresh.projectId]])
  })
})

describe('connections', () => {
  it('--connection naming no active connection is refused before anything is written', async () => {
    await expect(reconcile(t.db, sandbox, { connectionId: randomUUID() }).run).rejects.toThrow(/no such Align connection/)
  })

  it('an engagement of another company is not read', async () => {
    const conn = await connect(t.db, sandbox)
    const other = await connect(t.db, sandbox)
    const fixture = await seedLinkedProject(t.db, other)
    const { person } = await createTalent(t.db, conn.tenantId)
    const project = await t.db.selectFrom('projects').selectAll().where('id', '=', fixture.projectId).executeTakeFirstOrThrow()
    await createEngagement(t.db, project, person.id)
    const summary = await reconcile(t.db, sandbox, { connectionId: conn.connectionId }).run
    expect(summary).toMatchObject({ outcome: 'ok', projectsChecked: 0 })
  })
})
