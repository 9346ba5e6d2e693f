// A run whose process dies (kill -9 of the real `node src/main.ts`) leaves its run row open; the next run,
// holding the lock, closes it as failed ("crashed: …"). While the process lives, its row is never touched.
import { type ChildProcess, spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { type AlignSandbox, startAlignSandbox } from '@illumera/align-sandbox'
import { createTimeEntry, tsSourceLoaderUrl, until, useTestDatabase } from '@illumera/test-harness'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ReconciliationLockedError } from '../src/lock.js'
import { alignApprovedEntry, connect, ENCRYPTION_KEY, insertLink, reconcile, seedLinkedProject } from './helpers/setup.js'

const t = useTestDatabase()
let sandbox: AlignSandbox
const here = path.dirname(fileURLToPath(import.meta.url))

beforeAll(async () => {
  sandbox = await startAlignSandbox({ port: 0, rateLimitPerMinute: 0 })
})
afterAll(async () => {
  await sandbox.close()
})

function openRuns() {
  return t.db.selectFrom('align_reconciliation_runs').selectAll().where('finished_at', 'is', null).execute()
}

/** Advisory locks of this database: the dead process's session must be gone before the next run starts. */
async function advisoryLocksHeld(): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*) as n from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())`.execute(t.db)
  return Number(rows[0]!.n)
}

describe('a crashed run', () => {
  it('kill -9 mid-run leaves the row running; the next run closes it as failed, crashed', async () => {
    const conn = await connect(t.db, sandbox)
    const fixture = await seedLinkedProject(t.db, conn)
    const engagement = await t.db.selectFrom('engagements').selectAll().where('id', '=', fixture.engagementId).executeTakeFirstOrThrow()
    const entry = await createTimeEntry(t.db, engagement, { minutes: 60, status: 'approved' })
    await insertLink(t.db, conn, 'time_entry', entry.id, await alignApprovedEntry(sandbox, conn, fixture, 60, entry.id))
    // Every Align call takes 5 s: the process is caught inside its run.
    await sandbox.control.setFaults({ latencyMs: 5_000 })
    let child: ChildProcess | undefined
    try {
      child = spawn(process.execPath, ['--conditions=@illumera/source', '--import', tsSourceLoaderUrl, path.join(here, '..', 'src', 'main.ts'), '--connection', conn.connectionId], {
        env: { PATH: process.env.PATH ?? '', DATABASE_URL: t.url, ALIGN_ENCRYPTION_KEY: ENCRYPTION_KEY, ALIGN_BASE_URL: sandbox.apiBaseUrl, ALIGN_RATE_LIMIT_PER_MINUTE: '0' },
        stdio: ['ignore', 'ignore', 'ignore'],
      })
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child!.on('exit', (_code, signal) => resolve(signal)))
      await until(async () => (await openRuns()).length === 1, 'the process to start its run', { limitMs: 60_000 })
      const [crashed] = await openRuns()

      // While it lives, another run is refused before it writes anything, and the live row stays open.
      await expect(reconcile(t.db, sandbox, { connectionId: conn.connectionId }).run).rejects.toBeInstanceOf(ReconciliationLockedError)
      expect((await openRuns()).map((r) => r.id)).toEqual([crashed!.id])

      child.kill('SIGKILL')
      expect(await exited).toBe('SIGKILL')
      expect(await t.db.selectFrom('align_reconciliation_runs').selectAll().where('id', '=', crashed!.id).executeTakeFirstOrThrow())
        .toMatchObject({ outcome: null, finished_at: null })
      await sandbox.control.clearFaults()
      await until(async () => (await advisoryLocksHeld()) === 0, 'the dead session to release the lock', { limitMs: 30_000 })

      const summary = await reconcile(t.db, sandbox, { connectionId: conn.connectionId }).run

      expect(summary.outcome).toBe('ok')
      const closed = await t.db.selectFrom('align_reconciliation_runs').selectAll().where('id', '=', crashed!.id).executeTakeFirstOrThrow()
      expect(closed.outcome).toBe('failed')
      expect(closed.finished_at).not.toBeNull()
      expect(closed.finished_at!.getTime()).toBeGreaterThanOrEqual(new Date(summary.startedAt).getTime())
      expect(closed.error).toBe(`crashed: the process ended before the run finished (closed by run ${summary.runId})`)
      expect(await t.db.selectFrom('align_reconciliation_runs').selectAll().where('id', '=', summary.runId!).executeTakeFirstOrThrow())
        .toMatchObject({ outcome: 'ok', error: null })
      expect(await openRuns()).toEqual([])
    } finally {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await sandbox.control.clearFaults()
    }
  }, 120_000)

  it('a --dry-run writes nothing, not even the closing of an abandoned row', async () => {
    const conn = await connect(t.db, sandbox)
    await seedLinkedProject(t.db, conn)
    const { id } = await t.db.insertInto('align_reconciliation_runs').values({ started_at: new Date(Date.now() - 60_000) }).returning('id').executeTakeFirstOrThrow()
    await reconcile(t.db, sandbox, { connectionId: conn.connectionId, dryRun: true }).run
    expect(await t.db.selectFrom('align_reconciliation_runs').selectAll().where('id', '=', id).executeTakeFirstOrThrow()).toMatchObject({ outcome: null, finished_at: null })
    await reconcile(t.db, sandbox, { connectionId: conn.connectionId }).run
    expect(await t.db.selectFrom('align_reconciliation_runs').selectAll().where('id', '=', id).executeTakeFirstOrThrow()).toMatchObject({ outcome: 'failed' })
  })
})
