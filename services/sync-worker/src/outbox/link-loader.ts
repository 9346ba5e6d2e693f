// The handlers' link lookups, batched across the units in flight: every lookup asked for in one turn of
// the event loop goes out in one statement (findLinksBatch) at the end of that turn, instead of one round
// trip per lookup. Units move in step (a batched finish or claim resumes many at once), so a turn collects
// the lookups of many units; a unit alone waits for nothing but its own statement.
import type { Database } from '@illumera/db-schema'
import type { Kysely } from 'kysely'
import { findLinksBatch, type LinkKey, type LinkRow } from './outbox.queries.js'

/** More keys than this per statement are split (a bound on the statement's arrays, not a batching delay). */
const MAX_KEYS_PER_STATEMENT = 500

interface Lookup {
  byExternal: LinkKey[]
  byAlign: LinkKey[]
  resolve: (rows: LinkRow[]) => void
  reject: (err: unknown) => void
}

export interface LinkLoader {
  /** The tenant's links for these (external_type, external_id) pairs, by `${external_type}:${external_id}`. */
  links(tenantId: string, keys: Array<{ type: string; id: string }>, urgent?: boolean): Promise<Map<string, LinkRow>>
  /** The tenant's link holding this Align entity, if any. */
  linkByAlignId(tenantId: string, alignEntityType: string, alignEntityId: string, urgent?: boolean): Promise<LinkRow | null>
}

export function createLinkLoader(db: Kysely<Database>): LinkLoader {
  let queue: Lookup[] = []
  let scheduled = false

  // An urgent lookup (a unit that must not wait for the turn to end) goes out at once, with whatever is queued.
  function enqueue(byExternal: LinkKey[], byAlign: LinkKey[], urgent = false): Promise<LinkRow[]> {
    return new Promise((resolve, reject) => {
      queue.push({ byExternal, byAlign, resolve, reject })
      if (urgent) flush()
      else if (!scheduled) {
        scheduled = true
        setImmediate(() => {
          scheduled = false
          flush()
        })
      }
    })
  }

  function flush(): void {
    let batch = queue
    queue = []
    while (batch.length > 0) {
      // Split only when a turn asked for more keys than one statement should carry.
      let keys = 0
      let n = 0
      while (n < batch.length && (n === 0 || keys + batch[n]!.byExternal.length + batch[n]!.byAlign.length <= MAX_KEYS_PER_STATEMENT)) {
        keys += batch[n]!.byExternal.length + batch[n]!.byAlign.length
        n++
      }
      void run(batch.slice(0, n))
      batch = batch.slice(n)
    }
  }

  async function run(batch: Lookup[]): Promise<void> {
    let rows: Array<LinkRow & { tenant_id: string }>
    try {
      rows = await findLinksBatch(db, distinct(batch.flatMap((l) => l.byExternal)), distinct(batch.flatMap((l) => l.byAlign)))
    } catch (err) {
      for (const l of batch) l.reject(err)
      return
    }
    const byExternal = new Map<string, LinkRow>()
    const byAlign = new Map<string, LinkRow>()
    for (const r of rows) {
      byExternal.set(keyOf(r.tenant_id, r.external_type, r.external_id), r)
      byAlign.set(keyOf(r.tenant_id, r.align_entity_type, r.align_entity_id), r)
    }
    for (const l of batch) {
      const found: LinkRow[] = []
      for (const k of l.byExternal) {
        const r = byExternal.get(keyOf(k.tenantId, k.type, k.id))
        if (r) found.push(r)
      }
      for (const k of l.byAlign) {
        const r = byAlign.get(keyOf(k.tenantId, k.type, k.id))
        if (r) found.push(r)
      }
      l.resolve(found)
    }
  }

  return {
    async links(tenantId, keys, urgent) {
      if (keys.length === 0) return new Map()
      const rows = await enqueue(keys.map((k) => ({ tenantId, type: k.type, id: k.id })), [], urgent)
      return new Map(rows.map((l) => [`${l.external_type}:${l.external_id}`, l]))
    },
    async linkByAlignId(tenantId, alignEntityType, alignEntityId, urgent) {
      const rows = await enqueue([], [{ tenantId, type: alignEntityType, id: alignEntityId }], urgent)
      return rows[0] ?? null
    },
  }
}

/** Units of one project and person ask for the same project and user links: each key goes once. */
function distinct(keys: LinkKey[]): LinkKey[] {
  const seen = new Map<string, LinkKey>()
  for (const k of keys) seen.set(keyOf(k.tenantId, k.type, k.id), k)
  return [...seen.values()]
}

function keyOf(tenantId: string, type: string, id: string): string {
  return `${tenantId}\u0000${type}\u0000${id}`
}
