// Re-creating what Align no longer has, for the outbox rows that ask for it: the upserts reconciliation
// --fix enqueues for links missing in Align carry `recreateIfMissing: true` (services/reconciliation/src/fix.ts).
//
// Without the marker nothing changes: a time entry Align answers 404 for is a dead letter (a manager deleted
// it there, and hours are not resurrected behind anyone's back), and a membership whose link is written makes
// no call. With it, someone asked for the repair:
// - a vanished entity is looked up by externalRef first (an earlier attempt of this repair may have created
//   it: adopt it, never a duplicate), else created under a key of this row, `<localId>:recreate:<rowId>`:
//   the original key (the local id) would replay the stored answer naming the deleted entity;
// - a membership is added again (Align answers 200 for a member it still has).
import { AlignConflictError, type AlignGateway } from '@illumera/align-gateway'

/** The part of a handler's context used here (structurally the handlers' HandlerContext). */
export interface RecreateContext {
  row: { id: string; local_id: string; payload: unknown }
  /** The latest payload of the coalesced rows. */
  payload: unknown
  call<T>(operation: string, fn: (gateway: AlignGateway) => Promise<T>): Promise<T>
}

function hasMarker(payload: unknown): boolean {
  return typeof payload === 'object' && payload !== null && (payload as Record<string, unknown>).recreateIfMissing === true
}

/** The row (or a coalesced later snapshot of the same entity) came from reconciliation --fix. */
export function asksToRecreate(ctx: RecreateContext): boolean {
  return hasMarker(ctx.row.payload) || hasMarker(ctx.payload)
}

/** An idempotency key of this row only: retries of the row replay it, nothing earlier does. */
export function recreateKey(ctx: RecreateContext): string {
  return `${ctx.row.local_id}:recreate:${ctx.row.id}`
}

/**
 * The Align id of the entity re-created for a link Align answered 404 for: the one carrying our externalRef
 * (updated to this snapshot; one whose state forbids changes is adopted as it is), else a new one.
 */
export async function recreateMissing(
  ctx: RecreateContext,
  externalType: 'project' | 'wiki_page' | 'time_entry',
  create: (idempotencyKey: string) => Promise<{ id: string }>,
  update: (alignId: string) => Promise<unknown>,
): Promise<string> {
  const found = await ctx.call('findIntegrationLink', (g) => g.findIntegrationLink({ externalType, externalId: ctx.row.local_id }))
  if (!found) return (await create(recreateKey(ctx))).id
  try {
    await update(found.entityId)
  } catch (err) {
    if (!(err instanceof AlignConflictError)) throw err
  }
  return found.entityId
}
