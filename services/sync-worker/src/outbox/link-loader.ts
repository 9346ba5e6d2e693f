// The handlers' link lookups, batched across the units in flight: every lookup asked for in one turn of
// the event loop goes out in one statement (findLinksBatch) at the end of that turn, instead of one round
// trip per lookup. Units move in step (a batched finish or claim resumes many at once), so a turn collects
// the lookups of many units; a unit alone waits for nothing but its own statement.
import type { Database } from '@illumera/db-schema'
import type { Kysely } from 'kysely'
import { findLinksBatch, type LinkKey, type LinkRow, type MembershipKey } from './outbox.queries.js'

/** More keys than this per statement are split (a bound on the statement's arrays, not a batching delay). */
const MAX_KEYS_PER_STATEMENT = 500

interface Lookup {
  byExternal: LinkKey[]
  memberships: MembershipKey[]
  resolve: (rows: LinkRow[]) => void
  reject: (err: unknown) => void
}

export interface LinkLoader {
  /**
   * The tenant's links for these (external_type, external_id) pairs, by `${external_type}:${external_id}`; with
   * `membershipOf`, also the link of that project's membership of that user (Illumera ids), if both sides and
   * the membership are linked, under its own external key (find it by its Align id: membershipLink()).
   */
  links(tenantId: string, keys: Array<{ type: string; id: string }>, urgent?: boolean, membershipOf?: { projectId: string; userId: string }): Promise<Map<string, LinkRow>>
}

export function createLinkLoader(db: Kysely<Database>): LinkLoader {
  let queue: Lookup[] = []
  let scheduled = false

  // An urgent lookup (a unit that must not wait for the turn to end) goes out at once, with whatever is queued.
  function enqueue(byExternal: LinkKey[], memberships: MembershipKey[], urgent = false): Promise<LinkRow[]> {
    return new Promise((resolve, reject) => {
      queue.push({ byExternal, memberships, resolve, reject })
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
      while (n < batch.length && (n === 0 || keys + keyCount(batch[n]!) <= MAX_KEYS_PER_STATEMENT)) {
        keys += keyCount(batch[n]!)
        n++
      }
      void run(batch.slice(0, n))
      batch = batch.slice(n)
    }
  }

  async function run(batch: Lookup[]): Promise<void> {
    let rows: Array<LinkRow & { tenant_id: string }>
    try {
      rows = await findLinksBatch(db, distinct(batch.flatMap((l) => l.byExternal)), distinctMemberships(batch.flatMap((l) => l.memberships)))
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
      // A membership's sides are among this lookup's own keys (links() adds them): its Align id is theirs joined.
      for (const k of l.memberships) {
        const project = byExternal.get(keyOf(k.tenantId, 'project', k.projectId))
        const user = byExternal.get(keyOf(k.tenantId, 'user', k.userId))
        const r = project && user ? byAlign.get(keyOf(k.tenantId, 'project_member', membershipAlignId(project, user))) : undefined
        if (r) found.push(r)
      }
      l.resolve(found)
    }
  }

  return {
    async links(tenantId, keys, urgent, membershipOf) {
      const sides = membershipOf ? [{ type: 'project', id: membershipOf.projectId }, { type: 'user', id: membershipOf.userId }] : []
      if (keys.length === 0 && !membershipOf) return new Map()
      const rows = await enqueue([...keys, ...sides].map((k) => ({ tenantId, type: k.type, id: k.id })), membershipOf ? [{ tenantId, ...membershipOf }] : [], urgent)
      return new Map(rows.map((l) => [`${l.external_type}:${l.external_id}`, l]))
    },
  }
}

/** The Align id of a project membership: `<alignProjectId>:<alignUserId>` (the sync worker's link id for it). */
export function membershipAlignId(project: Pick<LinkRow, 'align_entity_id'>, user: Pick<LinkRow, 'align_entity_id'>): string {
  return `${project.align_entity_id}:${user.align_entity_id}`
}

/** The membership link among a links() answer, if there is one for these two sides. */
export function membershipLink(links: Map<string, LinkRow>, project: LinkRow, user: LinkRow): LinkRow | undefined {
  const alignId = membershipAlignId(project, user)
  for (const l of links.values()) if (l.align_entity_type === 'project_member' && l.align_entity_id === alignId) return l
  return undefined
}

function keyCount(l: Lookup): number {
  return l.byExternal.length + l.memberships.length
}

function distinctMemberships(keys: MembershipKey[]): MembershipKey[] {
  const seen = new Map<string, MembershipKey>()
  for (const k of keys) seen.set(keyOf(k.tenantId, k.projectId, k.userId), k)
  return [...seen.values()]
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
