// createCoalescingNotifier against a real PostgreSQL LISTEN: bursts coalesce into one NOTIFY per payload,
// later calls are not swallowed, close() flushes, and a failed send is logged instead of thrown.
import { Writable } from 'node:stream'
import { until, useTestDatabase } from '@illumera/test-harness'
import { sql } from 'kysely'
import pg from 'pg'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createCoalescingNotifier, createLogger, createPreparingServiceDb, createServiceDb } from '../src/index.js'

const CHANNEL = 'notifier_test'

describe('createCoalescingNotifier', () => {
  const t = useTestDatabase()
  let listener: pg.Client
  let received: Array<{ payload: string; at: number }>
  const lines: string[] = []
  const logger = createLogger({ destination: new Writable({ write(chunk, _e, done) { lines.push(String(chunk)); done() } }) })

  beforeEach(async () => {
    received = []
    lines.length = 0
    listener = new pg.Client({ connectionString: t.url })
    await listener.connect()
    listener.on('notification', (m) => { if (m.channel === CHANNEL) received.push({ payload: m.payload ?? '', at: performance.now() }) })
    await listener.query(`listen ${CHANNEL}`)
  })
  afterEach(async () => { await listener.end() })

  const soon = { limitMs: 2_000, intervalMs: 5 }

  it('sends a burst of calls as one NOTIFY per distinct payload, promptly', async () => {
    const db = createServiceDb(t.url, logger, { name: 'notifier-test', max: 1 })
    const notifier = createCoalescingNotifier({ db, channel: CHANNEL, logger, intervalMs: 1_000 })
    try {
      await sql`select 1`.execute(db) // the pool's connection is open, so the timing below is the notifier's
      const calledAt = performance.now()
      for (let i = 0; i < 200; i++) notifier.notify(['a', 'b', 'c'][i % 3]!)
      await until(() => received.length >= 3, 'three notifications', soon)
      // Separate transactions would each have delivered theirs: 200 calls became one statement.
      // The first send of a quiet period does not wait for the interval.
      expect(received[0]!.at - calledAt).toBeLessThan(500)
      await new Promise((resolve) => setTimeout(resolve, 100))
      expect(received.map((r) => r.payload).sort()).toEqual(['a', 'b', 'c'])
    } finally {
      await notifier.close()
      await db.destroy()
    }
  })

  it('spaces sends by the interval and never swallows a call made while a send is due', async () => {
    const db = createServiceDb(t.url, logger, { name: 'notifier-test', max: 1 })
    const notifier = createCoalescingNotifier({ db, channel: CHANNEL, logger, intervalMs: 150 })
    try {
      notifier.notify('x')
      await until(() => received.length === 1, 'the first notification', soon)
      notifier.notify('x')
      notifier.notify('y')
      await until(() => received.length === 3, 'the second batch', soon)
      expect(received.map((r) => r.payload)).toEqual(['x', 'x', 'y'])
      // Without the interval the second send would follow the first within a few milliseconds.
      expect(received[1]!.at - received[0]!.at).toBeGreaterThanOrEqual(100)
    } finally {
      await notifier.close()
      await db.destroy()
    }
  })

  it('on a preparing pool, prepares its statement once and sends batches of any size with it', async () => {
    const db = createPreparingServiceDb(t.url, logger, { name: 'notifier-prepared', max: 1 })
    const notifier = createCoalescingNotifier({ db, channel: CHANNEL, logger, intervalMs: 1 })
    try {
      notifier.notify('one')
      await until(() => received.length === 1, 'the first batch', soon)
      notifier.notify('two')
      notifier.notify('three')
      await until(() => received.length === 3, 'the second batch', soon)
      expect(received.map((r) => r.payload)).toEqual(['one', 'two', 'three'])
      // The pool has one connection, so this reads the session that sent both batches.
      const { rows } = await sql<{ count: string }>`select count(*) from pg_prepared_statements where statement like '%pg_notify%'`.execute(db)
      expect(Number(rows[0]!.count)).toBe(1)
    } finally {
      await notifier.close()
      await db.destroy()
    }
  })

  it('close() sends what is queued; notify() after close sends nothing', async () => {
    const db = createServiceDb(t.url, logger, { name: 'notifier-test', max: 1 })
    const notifier = createCoalescingNotifier({ db, channel: CHANNEL, logger, intervalMs: 10_000 })
    notifier.notify('first')
    await until(() => received.length === 1, 'the first notification', soon)
    notifier.notify('queued')
    await notifier.close()
    notifier.notify('late')
    await until(() => received.length === 2, 'the flushed notification', soon)
    await new Promise((resolve) => setTimeout(resolve, 50))
    await db.destroy()
    expect(received.map((r) => r.payload)).toEqual(['first', 'queued'])
  })

  it('logs a failed send without throwing, and sends again once the database answers', async () => {
    const unreachable = new URL(t.url)
    unreachable.port = '1'
    const broken = createServiceDb(unreachable.toString(), logger, { name: 'notifier-test', max: 1 })
    const notifier = createCoalescingNotifier({ db: broken, channel: CHANNEL, logger, intervalMs: 1 })
    notifier.notify('lost')
    await notifier.close()
    await broken.destroy()
    expect(lines.join('')).toContain('NOTIFY failed; listeners find the rows by polling')
    expect(received).toEqual([])

    // A connection killed under it: the pool drops it and the next send opens a new one.
    const db = createServiceDb(t.url, logger, { name: 'notifier-kill', max: 1 })
    const again = createCoalescingNotifier({ db, channel: CHANNEL, logger, intervalMs: 1 })
    try {
      again.notify('before')
      await until(() => received.length === 1, 'the first notification', soon)
      const admin = new pg.Client({ connectionString: t.url })
      await admin.connect()
      await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'notifier-kill' and datname = current_database()`)
      await admin.end()
      await new Promise((resolve) => setTimeout(resolve, 50))
      again.notify('after')
      await until(() => received.length === 2, 'a notification after the reconnect', soon)
      expect(received.map((r) => r.payload)).toEqual(['before', 'after'])
    } finally {
      await again.close()
      await db.destroy()
    }
  })
})
