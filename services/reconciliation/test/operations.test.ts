// The lock, the 429 storm, the entry point's exit codes (in process through main(argv, env, io), and once as
// a real spawned `node` process).
import { spawn } from 'node:child_process'
import path from 'node:path'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { type AlignSandbox, startAlignSandbox } from '@illumera/align-sandbox'
import { createTimeEntry, tsSourceLoaderUrl, useTestDatabase } from '@illumera/test-harness'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Clock } from '../src/clock.js'
import { RECONCILIATION_LOCK_KEY, ReconciliationLockedError } from '../src/lock.js'
import { main } from '../src/main.js'
import { alignApprovedEntry, connect, ENCRYPTION_KEY, insertLink, logRows, reconcile, seedLinkedProject } from './helpers/setup.js'

const t = useTestDatabase()
let sandbox: AlignSandbox

beforeAll(async () => {
  sandbox = await startAlignSandbox({ port: 0, rateLimitPerMinute: 0 })
})
afterAll(async () => {
  await sandbox.close()
})

async function projectWithMinutes(minutesHere: number, minutesInAlign: number) {
  const conn = await connect(t.db, sandbox)
  const fixture = await seedLinkedProject(t.db, conn)
  const engagement = await t.db.selectFrom('engagements').selectAll().where('id', '=', fixture.engagementId).executeTakeFirstOrThrow()
  const entry = await createTimeEntry(t.db, engagement, { minutes: minutesHere, status: 'approved' })
  await insertLink(t.db, conn, 'time_entry', entry.id, await alignApprovedEntry(sandbox, conn, fixture, minutesInAlign, entry.id))
  return { conn, fixture }
}

describe('one run at a time', () => {
  it('a run is refused at once while another session holds the advisory lock', async () => {
    const { conn } = await projectWithMinutes(60, 60)
    await t.db.connection().execute(async (holder) => {
      await sql`select pg_advisory_lock(${String(RECONCILIATION_LOCK_KEY)}::bigint)`.execute(holder)
      try {
        const started = Date.now()
        await expect(reconcile(t.db, sandbox, { connectionId: conn.connectionId }).run).rejects.toBeInstanceOf(ReconciliationLockedError)
        expect(Date.now() - started).toBeLessThan(1000)
      } finally {
        await sql`select pg_advisory_unlock(${String(RECONCILIATION_LOCK_KEY)}::bigint)`.execute(holder)
      }
    })
    expect(await logRows(t.db, conn.connectionId)).toEqual([])
  })

  it('of two concurrent runs the second is refused and the first completes; the lock is free afterwards', async () => {
    const { conn } = await projectWithMinutes(60, 90)
    await sandbox.control.setFaults({ latencyMs: 150 })
    try {
      const first = reconcile(t.db, sandbox, { connectionId: conn.connectionId }).run
      await new Promise((resolve) => setTimeout(resolve, 60))
      await expect(reconcile(t.db, sandbox, { connectionId: conn.connectionId }).run).rejects.toThrow('another reconciliation run holds the lock')
      expect((await first).outcome).toBe('discrepancies')
    } finally {
      await sandbox.control.clearFaults()
    }
    expect((await reconcile(t.db, sandbox, { connectionId: conn.connectionId }).run).outcome).toBe('discrepancies')
  })
})

describe('429 storm', () => {
  it('waits Retry-After through the shared pause each time and completes', async () => {
    const { conn } = await projectWithMinutes(60, 75)
    // A virtual clock: sleeping advances it (and yields briefly), so Retry-After is honoured without real waits.
    let offset = 0
    let sleeps = 0
    const clock: Clock = {
      now: () => new Date(Date.now() + offset),
      sleep: async (ms) => {
        offset += ms
        if (++sleeps === 6) await sandbox.control.setFaults({ rateLimitPerMinute: null })
        await new Promise((resolve) => setTimeout(resolve, 5))
      },
    }
    // Align lets one request per minute through: the first call passes, the others get 429 until the storm ends.
    await sandbox.control.setFaults({ rateLimitPerMinute: 1 })
    try {
      const summary = await reconcile(t.db, sandbox, { connectionId: conn.connectionId, clock, projectConcurrency: 1 }).run
      expect(summary.outcome).toBe('discrepancies')
      expect(summary.connections[0]!.rateLimited).toBeGreaterThanOrEqual(5)
      expect(summary.connections[0]!.linkCheck).toBe('complete')
      expect(summary.alignCalls).toBe(3 + summary.connections[0]!.rateLimited)
      const row = await t.db.selectFrom('align_connections').select('paused_until').where('id', '=', conn.connectionId).executeTakeFirstOrThrow()
      expect(row.paused_until).not.toBeNull()
      expect((await logRows(t.db, conn.connectionId)).map((r) => [r.field, r.illumera_value, r.align_value])).toEqual([['approved_minutes', '60', '75']])
    } finally {
      await sandbox.control.clearFaults()
    }
  })
})

function capture() {
  const out: string[] = []
  const err: string[] = []
  const log: string[] = []
  const logDestination = new Writable({ write(chunk, _e, done) { log.push(String(chunk)); done() } })
  return { out, err, log, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), logDestination } }
}

function env(extra: Record<string, string> = {}) {
  return { DATABASE_URL: t.url, ALIGN_ENCRYPTION_KEY: ENCRYPTION_KEY, ALIGN_BASE_URL: sandbox.apiBaseUrl, ALIGN_RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'info', ...extra }
}

describe('main: exit codes, stdout line and JSON log summary', () => {
  it('0 when everything agrees, 1 with discrepancies; one line on stdout and the per-connection summary in the log', async () => {
    const agree = await projectWithMinutes(60, 60)
    const differ = await projectWithMinutes(60, 999)

    const ok = capture()
    expect(await main(['--connection', agree.conn.connectionId], env(), ok.io)).toBe(0)
    expect(ok.out).toHaveLength(1)
    expect(ok.out[0]).toMatch(/^reconciliation ok: 1 connection\(s\), 1 project\(s\), 0 discrepancy\(ies\), 3 Align call\(s\) in [\d.]+ s \[run [0-9a-f-]{36}\]$/)

    const found = capture()
    expect(await main(['--connection', differ.conn.connectionId], env(), found.io)).toBe(1)
    expect(found.out[0]).toMatch(/^reconciliation discrepancies: .* 1 discrepancy\(ies\)/)
    const finished = found.log.map((l) => JSON.parse(l) as { msg: string; summary?: { connections: Array<Record<string, unknown>> } }).find((l) => l.msg === 'reconciliation finished')
    expect(finished?.summary?.connections[0]).toMatchObject({
      connectionId: differ.conn.connectionId, projectsChecked: 1, discrepancies: { approved_minutes: 1 }, alignCalls: 3, status: 'discrepancies',
    })
    expect(typeof finished?.summary?.connections[0]?.durationMs).toBe('number')
    expect(found.log.join('')).not.toContain(differ.conn.apiKey)
    expect(found.log.join('')).not.toContain(ENCRYPTION_KEY)
  })

  it('2 for a bad flag (named), a bad --since, --dry-run with --fix, and a missing variable (named, value never shown)', async () => {
    const bad = capture()
    expect(await main(['--bogus'], env(), bad.io)).toBe(2)
    expect(bad.err.join('\n')).toContain('--bogus')
    const since = capture()
    expect(await main(['--since', 'yesterday'], env(), since.io)).toBe(2)
    expect(since.err.join('\n')).toContain('--since')
    const both = capture()
    expect(await main(['--dry-run', '--fix'], env(), both.io)).toBe(2)
    expect(both.err.join('\n')).toMatch(/--fix.*--dry-run/)
    const missing = capture()
    expect(await main([], { ...env(), ALIGN_ENCRYPTION_KEY: 'not-hex' }, missing.io)).toBe(2)
    expect(missing.err.join('\n')).toContain('ALIGN_ENCRYPTION_KEY')
    expect(missing.err.join('\n')).not.toContain('not-hex')
  })

  it('2 for an unknown --connection and while another run holds the lock', async () => {
    const unknown = capture()
    expect(await main(['--connection', 'no-such-connection'], env(), unknown.io)).toBe(2)
    expect(unknown.out[0]).toContain('no such Align connection')
    await t.db.connection().execute(async (holder) => {
      await sql`select pg_advisory_lock(${String(RECONCILIATION_LOCK_KEY)}::bigint)`.execute(holder)
      try {
        const locked = capture()
        expect(await main([], env(), locked.io)).toBe(2)
        expect(locked.out[0]).toBe('reconciliation not run: another reconciliation run holds the lock')
      } finally {
        await sql`select pg_advisory_unlock(${String(RECONCILIATION_LOCK_KEY)}::bigint)`.execute(holder)
      }
    })
  })

  it('2 when the run itself fails (its database does not exist): one line says so', async () => {
    const url = new URL(t.url)
    url.pathname = '/no_such_database_for_reconciliation'
    const failed = capture()
    expect(await main([], env({ DATABASE_URL: url.toString() }), failed.io)).toBe(2)
    expect(failed.out).toHaveLength(1)
    expect(failed.out[0]).toMatch(/^reconciliation failed: .*no_such_database_for_reconciliation/)
  })

  it('2 when a connection is incomplete (its key was revoked)', async () => {
    const { conn } = await projectWithMinutes(60, 60)
    await sandbox.control.revokeKey(conn.apiKey)
    const run = capture()
    expect(await main(['--connection', conn.connectionId], env(), run.io)).toBe(2)
    expect(run.out[0]).toMatch(/^reconciliation incomplete: 1 connection\(s\) \(1 incomplete\)/)
  })
})

describe('the real process', () => {
  it('node src/main.ts --dry-run exits 1 with discrepancies, prints one summary line and writes nothing', async () => {
    const { conn } = await projectWithMinutes(60, 61)
    const here = path.dirname(fileURLToPath(import.meta.url))
    const child = spawn(process.execPath, ['--conditions=@illumera/source', '--import', tsSourceLoaderUrl, path.join(here, '..', 'src', 'main.ts'), '--dry-run', '--connection', conn.connectionId], {
      env: { PATH: process.env.PATH ?? '', ...env() }, stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c) => { stdout += String(c) })
    child.stderr.on('data', (c) => { stderr += String(c) })
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
    expect(stderr).toBe('')
    expect(code, stdout).toBe(1)
    const lines = stdout.trim().split('\n')
    expect(lines.filter((l) => l.startsWith('reconciliation discrepancies (dry run): 1 connection(s), 1 project(s), 1 discrepancy(ies)'))).toHaveLength(1)
    expect(lines.some((l) => l.includes('"msg":"reconciliation finished"'))).toBe(true)
    expect(await logRows(t.db, conn.connectionId)).toEqual([])
  }, 60_000)
})
