// A NOTIFY sender for hot write paths. A transaction that calls pg_notify takes PostgreSQL's cluster-wide
// notify lock at commit and holds it until the commit is done, so every notifying commit waits for the one
// before it: at a few thousand writes a second the writers queue on that lock (async.c PreCommit_Notify).
// Instead the writer commits without NOTIFY and hands the payload here; this sends the distinct payloads
// queued so far in ONE statement, after the commit, at most once per `intervalMs` (the first send of a
// quiet period goes out at once). DBOS moved its notifications off the write path the same way.
//
// A wake-up can be lost: the process dies between the commit and the send, or the send fails (it is
// logged and dropped, never retried). Use it only for wake-ups that a listener also finds by polling.
import type { Database } from '@illumera/db-schema'
import { type Kysely, sql } from 'kysely'
import type { Logger } from 'pino'
import { PREPARED_STATEMENT_MARKER } from './prepared-db.js'

export interface CoalescingNotifierOptions {
  /**
   * Where the NOTIFY goes out; a pool of its own keeps it from queueing behind the requests' queries (one made by
   * createPreparingServiceDb also keeps the statement's plan).
   */
  db: Kysely<Database>
  channel: string
  logger: Logger
  /** At most one NOTIFY statement per this many milliseconds. Default 5. */
  intervalMs?: number
}

export interface CoalescingNotifier {
  /** Queues `payload` (call it after the commit); returns at once and never throws. */
  notify(payload: string): void
  /** Sends what is queued and waits for it; notify() afterwards sends nothing. */
  close(): Promise<void>
}

export function createCoalescingNotifier(options: CoalescingNotifierOptions): CoalescingNotifier {
  const { db, channel, logger } = options
  const intervalMs = options.intervalMs ?? 5
  let queued = new Set<string>()
  let timer: NodeJS.Timeout | null = null
  let sending: Promise<void> | null = null
  let lastSendAt = -Infinity
  let closed = false

  function schedule(): void {
    if (closed || timer || sending || queued.size === 0) return
    timer = setTimeout(() => void send(), Math.max(0, lastSendAt + intervalMs - performance.now()))
  }

  async function send(): Promise<void> {
    timer = null
    const payloads = [...queued]
    queued = new Set()
    lastSendAt = performance.now()
    // One transaction for the whole batch: one take of the notify lock however many payloads.
    // Fixed text: a pool made by createPreparingServiceDb prepares it once instead of planning each send.
    sending = sql`${sql.raw(PREPARED_STATEMENT_MARKER)} select pg_notify(${channel}, payload) from unnest(${payloads}::text[]) as payload`.execute(db).then(
      () => {},
      (err: Error) => logger.warn({ err: { message: err.message }, channel, payloads: payloads.length }, 'NOTIFY failed; listeners find the rows by polling'),
    )
    await sending
    sending = null
    schedule()
  }

  return {
    notify(payload) {
      if (closed) return
      queued.add(payload)
      schedule()
    },
    async close() {
      closed = true
      if (timer) clearTimeout(timer)
      timer = null
      while (sending) await sending
      if (queued.size > 0) await send()
    },
  }
}
