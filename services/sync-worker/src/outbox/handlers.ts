// One handler per outbox entity type: what to ask Align, which links to write, what to wait for.
// Handlers read links and call Align (through ctx.call, which takes the shared rate budget first); they
// never write: the worker finishes the row with the outcome, under its lease, in one statement.
//
// Idempotency keys: a create sends the local id (plus the operation where one entity has several creates:
// `${id}:wiki_page`); submit and unlock send `${id}:submit:${rowId}` / `${id}:unlock:${rowId}` because one entry
// may be submitted again after an unlock, and a replay of the first submit would then do nothing.
// When an earlier attempt may have reached Align (ctx.recovering) or the 24 h idempotency window may have
// passed, a create first looks the entity up by externalRef and links what it finds: never a duplicate.
//
// Field mappings (the connection's settings) are applied here, when the call is built: the Align role of a
// user and of a membership, the time entry description (a template) and billable flag, the wiki page title.
// So a change affects every later sync, and a resync (re-enqueued upserts) brings existing records in line.
import { AlignConflictError, type AlignGateway, AlignNotFoundError, AlignValidationError } from '@illumera/align-gateway'
import {
  alignRoleFor, type AlignSyncOutboxRow, billableFor, type DescriptionTemplateValues, type FieldMappings, formatHours, parseDescriptionTemplate,
  renderDescriptionTemplate,
} from '@illumera/db-schema'
import type { RowMapping } from './field-mappings.js'
import type { DependencyTarget, LinkRow, LinkWrite } from './outbox.queries.js'
import { asksToRecreate, recreateKey, recreateMissing } from './recreate-missing.js'
import { membershipAlignId, membershipLink } from './link-loader.js'

export class PermanentSyncError extends Error {
  override name = 'PermanentSyncError'
}

export type Outcome =
  | { kind: 'done'; links: LinkWrite[]; deleteLinks: Array<{ externalType: string; externalId: string }>; wake: string[] }
  | { kind: 'wait'; target: DependencyTarget; reason: string }

export interface HandlerContext {
  tenantId: string
  now: Date
  row: AlignSyncOutboxRow
  /** The latest payload of the coalesced rows. */
  payload: unknown
  /** An earlier attempt may have reached Align, or its idempotency window may have passed. */
  recovering: boolean
  /** Calls Align after taking one grant of the connection's rate budget. */
  call<T>(operation: string, fn: (gateway: AlignGateway) => Promise<T>): Promise<T>
  /**
   * Links by `${external_type}:${external_id}`; with `membershipOf` (Illumera project and user ids) also that
   * project's and user's links and, when both are linked, their membership's link (membershipLink() finds it).
   */
  links(keys: Array<{ type: string; id: string }>, membershipOf?: { projectId: string; userId: string }): Promise<Map<string, LinkRow>>
  /** The connection's field mappings in force for this row, and the Illumera fields they may need. */
  mapping: RowMapping
}

export type Handler = (ctx: HandlerContext) => Promise<Outcome>

function done(links: LinkWrite[] = [], wake: string[] = [], deleteLinks: Array<{ externalType: string; externalId: string }> = []): Outcome {
  return { kind: 'done', links, deleteLinks, wake }
}

function waitFor(type: 'project' | 'user' | 'time_entry', localId: string, why: string): Outcome {
  return { kind: 'wait', target: { key: `${type}:${localId}`, externalType: type, externalId: localId }, reason: `waiting for the ${type} link of ${localId} (${why})` }
}

// ── payload readers: a payload that cannot be sent is a permanent failure naming the field, never its value ──

function record(payload: unknown, entity: string): Record<string, unknown> {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw new PermanentSyncError(`${entity} upsert has no payload object`)
  return payload as Record<string, unknown>
}
function str(p: Record<string, unknown>, field: string, entity: string): string {
  const v = p[field]
  if (typeof v !== 'string' || v.length === 0) throw new PermanentSyncError(`${entity} payload: ${field} must be a non-empty string`)
  return v
}
function optStr(p: Record<string, unknown>, field: string): string | null {
  const v = p[field]
  return typeof v === 'string' ? v : null
}
function bool(p: Record<string, unknown>, field: string, fallback: boolean): boolean {
  const v = p[field]
  return typeof v === 'boolean' ? v : fallback
}
function int(p: Record<string, unknown>, field: string, entity: string): number {
  const v = p[field]
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new PermanentSyncError(`${entity} payload: ${field} must be an integer`)
  return v
}

const DAY_MS = 24 * 60 * 60 * 1000
function key(type: string, id: string) { return `${type}:${id}` }

/**
 * Creates the entity, or adopts the one Align already holds: when an earlier attempt may have reached Align
 * (or the 24 h idempotency window may have passed) it is looked up by externalRef first; and a create refused
 * with idempotency_key_reused (the key was used with another body: an older snapshot) is followed by the same
 * lookup. An adopted entity is updated to the latest snapshot. Never a duplicate in Align.
 */
async function createOrAdopt(
  ctx: HandlerContext,
  externalType: 'project' | 'wiki_page' | 'time_entry',
  externalId: string,
  create: () => Promise<{ id: string }>,
  update: (alignId: string) => Promise<unknown>,
): Promise<string> {
  const adopt = async (): Promise<string | null> => {
    const found = await ctx.call('findIntegrationLink', (g) => g.findIntegrationLink({ externalType, externalId }))
    if (!found) return null
    try {
      await update(found.entityId)
    } catch (err) {
      // An entry already submitted or approved in Align keeps its values; the link is what matters here.
      if (!(err instanceof AlignConflictError)) throw err
    }
    return found.entityId
  }
  const idempotencyWindowPassed = ctx.now.getTime() - ctx.row.created_at.getTime() > DAY_MS - 60 * 60 * 1000
  if (ctx.recovering || idempotencyWindowPassed) {
    const adopted = await adopt()
    if (adopted) return adopted
  }
  try {
    return (await create()).id
  } catch (err) {
    if (err instanceof AlignValidationError && err.code === 'idempotency_key_reused') {
      const adopted = await adopt()
      if (adopted) return adopted
    }
    throw err
  }
}

// ── project ──
const project: Handler = async (ctx) => {
  const id = ctx.row.local_id
  const links = await ctx.links([{ type: 'project', id }])
  const link = links.get(key('project', id))
  if (ctx.row.operation === 'delete') {
    // Align has no project delete: archive it and keep the link (entries stay reconcilable).
    if (!link) return done()
    await ctx.call('updateProject', (g) => g.updateProject(link.align_entity_id, { status: 'archived' }))
    return done()
  }
  const p = record(ctx.payload, 'project')
  const fields = { name: str(p, 'name', 'project'), description: optStr(p, 'description'), timeBillingEnabled: bool(p, 'timeBillingEnabled', true) }
  if (link) {
    try {
      await ctx.call('updateProject', (g) => g.updateProject(link.align_entity_id, fields))
      return done([], [key('project', id)])
    } catch (err) {
      // DESIGN: the project vanished in Align (deleted there): drop the stale link and create it again.
      if (!(err instanceof AlignNotFoundError)) throw err
      const again = await ctx.call('findIntegrationLink', (g) => g.findIntegrationLink({ externalType: 'project', externalId: id }))
      const alignId = again?.entityId ?? (await ctx.call('createProject', (g) => g.createProject(
        { ...fields, externalRef: { externalType: 'project', externalId: id } }, { idempotencyKey: `${id}:recreate:${ctx.row.id}` }))).id
      return done([{ externalType: 'project', externalId: id, alignEntityType: 'project', alignEntityId: alignId }], [key('project', id)])
    }
  }
  const alignId = await createOrAdopt(ctx, 'project', id,
    () => ctx.call('createProject', (g) => g.createProject({ ...fields, externalRef: { externalType: 'project', externalId: id } }, { idempotencyKey: id })),
    (alignId) => ctx.call('updateProject', (g) => g.updateProject(alignId, fields)))
  return done([{ externalType: 'project', externalId: id, alignEntityType: 'project', alignEntityId: alignId }], [key('project', id)])
}

// ── wiki_page (local_id is the project's id) ──
export function staffingWikiMarkdown(title: string, projectName: string, slots: Array<Record<string, unknown>>): string {
  const lines = [`# ${title} — ${projectName}`, '']
  const open = slots.filter((s) => typeof s.openings === 'number' && (s.openings as number) > 0)
  if (open.length === 0) lines.push('No open slots.')
  else {
    lines.push('| Role | Openings | Rate | Notes |', '|---|---|---|---|')
    for (const s of open) {
      const rate = typeof s.hourlyRateCents === 'number' ? `$${((s.hourlyRateCents as number) / 100).toFixed(2)}/h` : '—'
      lines.push(`| ${String(s.roleTitle ?? '')} | ${String(s.openings)} | ${rate} | ${typeof s.notes === 'string' ? s.notes : ''} |`)
    }
  }
  return lines.join('\n')
}

const wikiPage: Handler = async (ctx) => {
  const id = ctx.row.local_id
  if (ctx.row.operation === 'delete') return done() // Align has no wiki page delete; nothing to do.
  const p = record(ctx.payload, 'wiki_page')
  const localProjectId = optStr(p, 'localProjectId') ?? id
  const slots = Array.isArray(p.slots) ? (p.slots as Array<Record<string, unknown>>) : []
  const { wikiPageTitle: title } = await ctx.mapping.fieldMappings()
  const page = { title, content: staffingWikiMarkdown(title, str(p, 'projectName', 'wiki_page'), slots) }
  const links = await ctx.links([{ type: 'wiki_page', id }, { type: 'project', id: localProjectId }])
  const projectLink = links.get(key('project', localProjectId))
  const pageLink = links.get(key('wiki_page', id))
  if (pageLink) {
    try {
      await ctx.call('updateWikiPage', (g) => g.updateWikiPage(pageLink.align_entity_id, page))
      return done()
    } catch (err) {
      if (!(err instanceof AlignNotFoundError) || !projectLink) throw err
      const created = await ctx.call('createWikiPage', (g) => g.createWikiPage(projectLink.align_entity_id,
        { ...page, externalRef: { externalType: 'wiki_page', externalId: id } }, { idempotencyKey: `${id}:wiki_page:recreate:${ctx.row.id}` }))
      return done([{ externalType: 'wiki_page', externalId: id, alignEntityType: 'wiki_page', alignEntityId: created.id }])
    }
  }
  if (!projectLink) return waitFor('project', localProjectId, 'a wiki page lives in its project')
  const alignId = await createOrAdopt(ctx, 'wiki_page', id,
    () => ctx.call('createWikiPage', (g) => g.createWikiPage(projectLink.align_entity_id,
      { ...page, externalRef: { externalType: 'wiki_page', externalId: id } }, { idempotencyKey: `${id}:wiki_page` })),
    (alignId) => ctx.call('updateWikiPage', (g) => g.updateWikiPage(alignId, page)))
  return done([{ externalType: 'wiki_page', externalId: id, alignEntityType: 'wiki_page', alignEntityId: alignId }])
}

// ── user ──
/** The invite of a user, with the Align role the connection's role mapping gives their Illumera role. */
export function userInvite(localId: string, payload: unknown, mappings: FieldMappings) {
  const p = record(payload, 'user')
  return {
    email: str(p, 'email', 'user'), name: str(p, 'name', 'user'), role: alignRoleFor(mappings, p.role),
    externalRef: { externalType: 'user' as const, externalId: localId },
  }
}

const user: Handler = async (ctx) => {
  const id = ctx.row.local_id
  if (ctx.row.operation === 'delete') return done() // Align has no user delete; memberships are removed separately.
  const invite = userInvite(id, ctx.payload, await ctx.mapping.fieldMappings())
  const link = (await ctx.links([{ type: 'user', id }])).get(key('user', id))
  if (link) {
    try {
      // The role goes too: a changed role mapping reaches users invited before it.
      await ctx.call('updateUser', (g) => g.updateUser(link.align_entity_id, { name: invite.name, email: invite.email, role: invite.role }))
      return done([], [key('user', id)])
    } catch (err) {
      if (!(err instanceof AlignNotFoundError)) throw err
      // DESIGN: the user vanished in Align: invite again (Align dedups by email) and relink.
    }
  }
  // Inviting is idempotent in Align by email (an existing user comes back with created: false).
  const result = await ctx.call('inviteUser', (g) => g.inviteUser({ ...invite, sendInvite: false }, { idempotencyKey: link ? `${id}:reinvite:${ctx.row.id}` : id }))
  return done([{ externalType: 'user', externalId: id, alignEntityType: 'user', alignEntityId: result.userId }], [key('user', id)])
}

// ── project_member (local_id is the engagement's id) ──
const projectMember: Handler = async (ctx) => {
  const id = ctx.row.local_id
  const self = (await ctx.links([{ type: 'project_member', id }])).get(key('project_member', id))
  if (ctx.row.operation === 'delete') {
    if (!self) return done()
    const [alignProjectId, alignUserId] = self.align_entity_id.split(':')
    try {
      await ctx.call('removeProjectMember', (g) => g.removeProjectMember(alignProjectId!, alignUserId!))
    } catch (err) {
      if (!(err instanceof AlignNotFoundError)) throw err // already gone: the goal is reached
    }
    return done([], [], [{ externalType: 'project_member', externalId: id }])
  }
  const p = record(ctx.payload, 'project_member')
  const localProjectId = str(p, 'localProjectId', 'project_member')
  const localUserId = str(p, 'localUserId', 'project_member')
  const links = await ctx.links([{ type: 'project', id: localProjectId }, { type: 'user', id: localUserId }])
  const projectLink = links.get(key('project', localProjectId))
  const userLink = links.get(key('user', localUserId))
  if (!projectLink) return waitFor('project', localProjectId, 'a member needs its project')
  if (!userLink) return waitFor('user', localUserId, 'a member needs its user')
  const memberId = membershipAlignId(projectLink, userLink)
  // A written link needs no call, unless reconciliation --fix asks to add it again (Align may have lost it).
  if (self?.align_entity_id === memberId && !asksToRecreate(ctx)) return done([], [key('project_member', memberId)])
  // The role override follows the role mapping of the member's Illumera role (an unknown user counts as talent).
  // A resync of a linked membership comes marked like a --fix upsert, so it reaches here and sets the role.
  const roleOverride = alignRoleFor(await ctx.mapping.fieldMappings(), (await ctx.mapping.user(localUserId))?.role ?? 'talent')
  // Adding is idempotent in Align (an existing member comes back with 200, its role override set), so no lookup
  // is needed. Once a link exists the first key is spent: its stored answer would come back without adding anything.
  await ctx.call('addProjectMember', (g) => g.addProjectMember(projectLink.align_entity_id, userLink.align_entity_id,
    { roleOverride, externalRef: { externalType: 'project_member', externalId: id } }, { idempotencyKey: self ? recreateKey(ctx) : id }))
  return done([{ externalType: 'project_member', externalId: id, alignEntityType: 'project_member', alignEntityId: memberId }], [key('project_member', memberId)])
}

// ── time_entry ──
const timeEntry: Handler = async (ctx) => {
  const id = ctx.row.local_id
  const p = ctx.row.operation === 'delete' ? null : record(ctx.payload, 'time_entry')
  const localProjectId = p ? str(p, 'localProjectId', 'time_entry') : null
  const localUserId = p ? str(p, 'localUserId', 'time_entry') : null
  // One lookup for the entry's own link and, for an upsert, its project's, its user's and their membership's.
  const links = await ctx.links([{ type: 'time_entry', id }], localProjectId && localUserId ? { projectId: localProjectId, userId: localUserId } : undefined)
  const self = links.get(key('time_entry', id))
  if (!p || !localProjectId || !localUserId) {
    if (!self) return done()
    try {
      await ctx.call('deleteTimeEntry', (g) => g.deleteTimeEntry(self.align_entity_id))
    } catch (err) {
      if (!(err instanceof AlignNotFoundError)) throw err
    }
    return done([], [], [{ externalType: 'time_entry', externalId: id }])
  }
  const fields = await timeEntryFields(ctx, id, p, localProjectId, localUserId)
  let vanished = false
  if (self) {
    try {
      await ctx.call('updateTimeEntry', (g) => g.updateTimeEntry(self.align_entity_id, fields))
      return done([], [key('time_entry', id)])
    } catch (err) {
      // DESIGN: a 404 here (a manager deleted the entry in Align) is a dead letter, not a re-create: billable
      // hours someone removed on purpose are not resurrected behind their back. Unless reconciliation --fix
      // asked for exactly that: then it is re-created below (recreate-missing.ts).
      if (!(err instanceof AlignNotFoundError) || !asksToRecreate(ctx)) throw err
      vanished = true
    }
  }
  const projectLink = links.get(key('project', localProjectId))
  const userLink = links.get(key('user', localUserId))
  if (!projectLink) return waitFor('project', localProjectId, 'an entry needs its project')
  if (!userLink) return waitFor('user', localUserId, 'an entry needs its user')
  if (!membershipLink(links, projectLink, userLink)) {
    const memberId = membershipAlignId(projectLink, userLink)
    // Align refuses an entry of a non-member (422 user_not_member): wait for the membership.
    return { kind: 'wait', target: { key: `project_member:${memberId}`, alignEntityType: 'project_member', alignEntityId: memberId }, reason: `waiting for the project membership ${memberId}` }
  }
  const createEntry = (idempotencyKey: string) => ctx.call('createTimeEntry', (g) => g.createTimeEntry(projectLink.align_entity_id,
    { userId: userLink.align_entity_id, ...fields, externalRef: { externalType: 'time_entry', externalId: id } }, { idempotencyKey }))
  const updateEntry = (alignId: string) => ctx.call('updateTimeEntry', (g) => g.updateTimeEntry(alignId, fields))
  const alignId = vanished
    ? await recreateMissing(ctx, 'time_entry', createEntry, updateEntry)
    : await createOrAdopt(ctx, 'time_entry', id, () => createEntry(id), updateEntry)
  return done([{ externalType: 'time_entry', externalId: id, alignEntityType: 'time_entry', alignEntityId: alignId }], [key('time_entry', id)])
}

/** The Align fields of an entry: its description from the template, billable from the mapping. */
async function timeEntryFields(ctx: HandlerContext, id: string, p: Record<string, unknown>, localProjectId: string, localUserId: string) {
  const mappings = await ctx.mapping.fieldMappings()
  const workDate = str(p, 'workDate', 'time_entry')
  const minutes = int(p, 'minutes', 'time_entry')
  const parsed = parseDescriptionTemplate(mappings.timeEntryDescription)
  const uses = new Set('fields' in parsed ? parsed.fields : [])
  const values: DescriptionTemplateValues = { notes: optStr(p, 'notes'), workDate, minutes, hours: formatHours(minutes), entryId: id }
  // Only what the template names is looked up.
  if (uses.has('projectName')) values.projectName = await ctx.mapping.projectName(localProjectId)
  if (uses.has('userName') || uses.has('userEmail')) {
    const person = await ctx.mapping.user(localUserId)
    values.userName = person?.name ?? null
    values.userEmail = person?.email ?? null
  }
  return {
    workDate, minutes,
    description: renderDescriptionTemplate(mappings.timeEntryDescription, values),
    billable: billableFor(mappings, bool(p, 'timeBillingEnabled', true)),
  }
}

function timeEntryAction(action: 'submit' | 'unlock'): Handler {
  return async (ctx) => {
    const id = ctx.row.local_id
    if (ctx.row.operation === 'delete') throw new PermanentSyncError(`time_entry_${action} has no delete operation`)
    const self = (await ctx.links([{ type: 'time_entry', id }])).get(key('time_entry', id))
    if (!self) return waitFor('time_entry', id, `${action} acts on the created entry`)
    const idempotencyKey = `${id}:${action}:${ctx.row.id}`
    if (action === 'submit') await ctx.call('submitTimeEntry', (g) => g.submitTimeEntry(self.align_entity_id, { idempotencyKey }))
    else await ctx.call('unlockTimeEntry', (g) => g.unlockTimeEntry(self.align_entity_id, { idempotencyKey }))
    return done()
  }
}

export const handlers: Record<string, Handler> = {
  project,
  wiki_page: wikiPage,
  user,
  project_member: projectMember,
  time_entry: timeEntry,
  time_entry_submit: timeEntryAction('submit'),
  time_entry_unlock: timeEntryAction('unlock'),
}

/** Upserts of these types are snapshots: pending ones of one entity coalesce into the latest. */
export const COALESCING_TYPES = ['project', 'wiki_page', 'user', 'project_member', 'time_entry']
