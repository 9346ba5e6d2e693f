// One reconciliation at a time across the cluster: a session-level Postgres advisory lock on a fixed key,
// held by one dedicated pooled connection for the whole run and released (or dropped with the session)
// at the end. A second start does not wait: pg_try_advisory_lock answers at once.
import type { Database } from '@illumera/db-schema'
import { type Kysely, sql } from 'kysely'

/** 'align_rec' as a number: the key every reconciliation process uses. */
export const RECONCILIATION_LOCK_KEY = 0x616c69676e5f72n

export class ReconciliationLockedError extends Error {
  override name = 'ReconciliationLockedError'
  constructor() {
    super('another reconciliation run holds the lock')
  }
}

/** Runs `work` while holding the lock; throws ReconciliationLockedError at once when another run holds it. */
export async function withReconciliationLock<T>(db: Kysely<Database>, work: () => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${String(RECONCILIATION_LOCK_KEY)}::bigint) as locked`.execute(conn)
    if (!rows[0]?.locked) throw new ReconciliationLockedError()
    try {
      return await work()
    } finally {
      await sql`select pg_advisory_unlock(${String(RECONCILIATION_LOCK_KEY)}::bigint)`.execute(conn)
    }
  })
}
