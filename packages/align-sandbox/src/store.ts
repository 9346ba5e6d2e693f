// Align's state, in memory, and every operation on it. Operations check ownership (an id of
// another organization is a 404), enforce the time entry state machine, and emit the catalog's
// webhook events synchronously, so an event is queued before the request that caused it answers.
// Indexes: entities by id; projects by organization; entries, members and wiki pages by project;
// users by organization and email; integration links per organization in creation order.
import { randomBytes, randomUUID } from 'node:crypto'
import { SandboxError, invalidState, notFound, validationError } from './errors.js'
import { IntegrationLinkIndex } from './integration-link-index.js'
import type {
  AddMemberInput,
  CreateProjectInput,
  CreateTimeEntryInput,
  CreateWebhookInput,
  CreateWikiPageInput,
  InviteUserInput,
  UpdateProjectInput,
  UpdateTimeEntryInput,
  UpdateUserInput,
  UpdateWikiPageInput,
} from './schemas.js'
import {
  TIME_ENTRY_STATUSES,
  type BulkInviteResult,
  type BulkInviteResultItem,
  type CostSummary,
  type CreatedWebhookSubscription,
  type ExternalRef,
  type ExternalType,
  type IntegrationLink,
  type IntegrationLinkPage,
  type InviteResult,
  type KeyScope,
  type Me,
  type MemberState,
  type OrganizationState,
  type Project,
  type ProjectMember,
  type TimeEntry,
  type TimeEntryStatus,
  type TimeSummary,
  type User,
  type WebhookEventName,
  type WebhookSubscription,
  type WikiPage,
  type AlignInvoice,
} from './types.js'

export interface ApiKeyRecord {
  id: string
  key: string
  organizationId: string
  scope: KeyScope
  scopedProjectId: string | null
  revoked: boolean
  createdAt: string
  createdByUserId: string
  lastUsedAt: string | null
}

interface OrganizationRecord {
  id: string
  name: string
  createdAt: string
  adminUserId: string
  projectIds: Set<string>
  userIds: Set<string>
  userIdByEmail: Map<string, string>
  webhookIds: Set<string>
  keyIds: Set<string>
  links: IntegrationLinkIndex
}

interface ProjectIndex {
  entryIds: Set<string>
  /** userId → member */
  members: Map<string, ProjectMember>
  wikiPageIds: Set<string>
  plannedCostCents: number
}

interface WebhookRecord extends WebhookSubscription {
  organizationId: string
  hmacSecret: string
}

export type EventSink = (
  organizationId: string,
  eventName: WebhookEventName,
  data: unknown,
  targets: Array<{ subscriptionId: string; destinationUrl: string; hmacSecret: string }>,
) => void

const ORG_PERMISSIONS = ['read:project', 'write:project', 'read:user', 'write:user', 'read:entry', 'write:entry', 'read:wiki', 'write:wiki', 'write:webhook']
const PROJECT_PERMISSIONS = ['read:project', 'read:entry', 'write:entry', 'read:wiki', 'write:wiki']

/** minutes / 60 with two decimals, then one trailing zero dropped: 150 → "2.5", 60 → "1.0", 20 → "0.33". */
export function formatHours(minutes: number): string {
  const fixed = (Math.round((minutes * 100) / 60) / 100).toFixed(2)
  return fixed.endsWith('0') ? fixed.slice(0, -1) : fixed
}

/** Integer cents as a decimal string with two decimals. */
export function formatCents(cents: number): string {
  const sign = cents < 0 ? '-' : ''
  const abs = Math.abs(cents)
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`
}

function isValidDate(workDate: string): boolean {
  const date = new Date(`${workDate}T00:00:00Z`)
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === workDate
}

function now(): string {
  return new Date().toISOString()
}

export class AlignStore {
  private orgs = new Map<string, OrganizationRecord>()
  private keys = new Map<string, ApiKeyRecord>()
  private projects = new Map<string, Project>()
  private projectIndex = new Map<string, ProjectIndex>()
  private users = new Map<string, User>()
  private entries = new Map<string, TimeEntry>()
  private wikiPages = new Map<string, WikiPage>()
  private webhooks = new Map<string, WebhookRecord>()
  private invoices = new Map<string, AlignInvoice>()
  /** `${projectId}:${userId}` → cents per hour; survives the member's removal, as past entries keep their cost. */
  private rates = new Map<string, number>()

  constructor(
    private readonly sink: EventSink,
    private readonly onWebhookDeleted: (subscriptionId: string) => void = () => {},
  ) {}

  reset(): void {
    this.orgs = new Map()
    this.keys = new Map()
    this.projects = new Map()
    this.projectIndex = new Map()
    this.users = new Map()
    this.entries = new Map()
    this.wikiPages = new Map()
    this.webhooks = new Map()
    this.invoices = new Map()
    this.rates = new Map()
  }

  // ─── organizations and keys ────────────────────────────────────────────────

  createOrg(name = 'Sandbox organization'): { organizationId: string; apiKey: string } {
    const at = now()
    const organizationId = randomUUID()
    const admin: User = {
      id: randomUUID(),
      organizationId,
      email: `admin@${organizationId.slice(0, 8)}.align.test`,
      name: 'Organization Admin',
      role: 'admin',
      status: 'active',
      externalRef: null,
      createdAt: at,
      updatedAt: at,
    }
    const org: OrganizationRecord = {
      id: organizationId,
      name,
      createdAt: at,
      adminUserId: admin.id,
      projectIds: new Set(),
      userIds: new Set([admin.id]),
      userIdByEmail: new Map([[admin.email, admin.id]]),
      webhookIds: new Set(),
      keyIds: new Set(),
      links: new IntegrationLinkIndex(),
    }
    this.orgs.set(organizationId, org)
    this.users.set(admin.id, admin)
    const { apiKey } = this.createKey(organizationId, 'organization')
    return { organizationId, apiKey }
  }

  createKey(organizationId: string, scope: KeyScope, projectId?: string): { apiKey: string; apiKeyId: string } {
    const org = this.requireOrg(organizationId)
    let scopedProjectId: string | null = null
    if (scope === 'project') {
      if (!projectId) throw validationError('projectId', 'projectId is required for a project-scoped key')
      this.requireProject(organizationId, projectId)
      scopedProjectId = projectId
    } else if (projectId !== undefined) {
      throw validationError('projectId', 'projectId is only allowed with scope "project"')
    }
    const record: ApiKeyRecord = {
      id: randomUUID(),
      key: `align_sk_${randomBytes(24).toString('hex')}`,
      organizationId,
      scope,
      scopedProjectId,
      revoked: false,
      createdAt: now(),
      createdByUserId: org.adminUserId,
      lastUsedAt: null,
    }
    this.keys.set(record.key, record)
    org.keyIds.add(record.key)
    return { apiKey: record.key, apiKeyId: record.id }
  }

  revokeKey(apiKey: string): void {
    const record = this.keys.get(apiKey)
    if (!record) throw new SandboxError(404, 'not_found', 'API key not found')
    record.revoked = true
  }

  /** The live key record, or null for an unknown or revoked key. */
  authenticate(apiKey: string): ApiKeyRecord | null {
    const record = this.keys.get(apiKey)
    if (!record || record.revoked) return null
    record.lastUsedAt = now()
    return record
  }

  me(key: ApiKeyRecord): Me {
    return {
      apiKeyId: key.id,
      organizationId: key.organizationId,
      scope: key.scope,
      scopedProjectId: key.scopedProjectId,
      permissions: key.scope === 'organization' ? [...ORG_PERMISSIONS] : [...PROJECT_PERMISSIONS],
      createdByUserId: key.createdByUserId,
      lastUsedAt: key.lastUsedAt,
    }
  }

  // ─── users ─────────────────────────────────────────────────────────────────

  inviteUser(organizationId: string, input: InviteUserInput): { result: InviteResult; created: boolean } {
    const org = this.requireOrg(organizationId)
    const email = input.email.trim().toLowerCase()
    const existingId = org.userIdByEmail.get(email)
    if (existingId) {
      const existing = this.users.get(existingId)!
      return { result: { userId: existing.id, inviteId: randomUUID(), created: false, status: existing.status }, created: false }
    }
    const at = now()
    const user: User = {
      id: randomUUID(),
      organizationId,
      email,
      name: input.name,
      role: input.role,
      status: 'invited',
      externalRef: input.externalRef ?? null,
      createdAt: at,
      updatedAt: at,
    }
    this.users.set(user.id, user)
    org.userIds.add(user.id)
    org.userIdByEmail.set(email, user.id)
    this.emit(organizationId, 'user.invited', { ...user })
    this.link(org, 'user', user.id, user.externalRef, at)
    return { result: { userId: user.id, inviteId: randomUUID(), created: true, status: user.status }, created: true }
  }

  bulkInvite(organizationId: string, invites: unknown[], check: (invite: unknown) => { field: string; message: string } | null): BulkInviteResult {
    if (invites.length > 50) throw new SandboxError(400, 'too_many_invites', `invites: at most 50 invites per call, got ${invites.length}`, 'invites')
    this.requireOrg(organizationId)
    const results: BulkInviteResultItem[] = []
    let successCount = 0
    for (const invite of invites) {
      const email = typeof (invite as { email?: unknown })?.email === 'string' ? (invite as { email: string }).email : ''
      const problem = check(invite)
      if (problem) {
        results.push({ email, error: { code: 'validation_error', message: problem.message } })
        continue
      }
      const { result } = this.inviteUser(organizationId, invite as InviteUserInput)
      results.push({ email, ...result })
      successCount++
    }
    return { results, successCount, failureCount: results.length - successCount }
  }

  getUser(organizationId: string, userId: string): User {
    return { ...this.requireUser(organizationId, userId) }
  }

  updateUser(organizationId: string, userId: string, patch: UpdateUserInput): User {
    const org = this.requireOrg(organizationId)
    const user = this.requireUser(organizationId, userId)
    if (patch.email !== undefined) {
      const email = patch.email.trim().toLowerCase()
      const other = org.userIdByEmail.get(email)
      if (other && other !== user.id) throw validationError('email', `email ${email} already belongs to another user of this organization`)
      org.userIdByEmail.delete(user.email)
      org.userIdByEmail.set(email, user.id)
      user.email = email
    }
    if (patch.name !== undefined) user.name = patch.name
    if (patch.role !== undefined) user.role = patch.role
    user.updatedAt = now()
    this.emit(organizationId, 'user.updated', { ...user })
    return { ...user }
  }

  /** The invited user accepts and links their Align account (control API). */
  activateUser(userId: string): User {
    const user = this.users.get(userId)
    if (!user) throw notFound('user', userId)
    if (user.status === 'active') throw invalidState(`user ${userId} is already active`)
    user.status = 'active'
    user.updatedAt = now()
    this.emit(user.organizationId, 'user.linked', { ...user })
    return { ...user }
  }

  // ─── projects and members ──────────────────────────────────────────────────

  createProject(organizationId: string, input: CreateProjectInput): Project {
    const org = this.requireOrg(organizationId)
    const at = now()
    const project: Project = {
      id: randomUUID(),
      name: input.name,
      description: input.description ?? null,
      status: 'active',
      organizationId,
      clientId: input.clientId ?? null,
      timeBillingEnabled: input.timeBillingEnabled ?? true,
      externalRef: input.externalRef ?? null,
      createdAt: at,
      updatedAt: at,
    }
    this.projects.set(project.id, project)
    this.projectIndex.set(project.id, { entryIds: new Set(), members: new Map(), wikiPageIds: new Set(), plannedCostCents: 0 })
    org.projectIds.add(project.id)
    this.link(org, 'project', project.id, project.externalRef, at)
    return { ...project }
  }

  updateProject(organizationId: string, projectId: string, patch: UpdateProjectInput): Project {
    const project = this.requireProject(organizationId, projectId)
    if (patch.name !== undefined) project.name = patch.name
    if (patch.description !== undefined) project.description = patch.description
    if (patch.status !== undefined) project.status = patch.status
    if (patch.timeBillingEnabled !== undefined) project.timeBillingEnabled = patch.timeBillingEnabled
    if (patch.clientId !== undefined) project.clientId = patch.clientId
    project.updatedAt = now()
    return { ...project }
  }

  addMember(organizationId: string, projectId: string, userId: string, input: AddMemberInput): { member: ProjectMember; created: boolean } {
    const org = this.requireOrg(organizationId)
    this.requireProject(organizationId, projectId)
    this.requireUser(organizationId, userId)
    const index = this.projectIndex.get(projectId)!
    const existing = index.members.get(userId)
    if (existing) {
      const changed =
        (input.roleOverride !== undefined && input.roleOverride !== existing.roleOverride) ||
        (input.metadata !== undefined && JSON.stringify(input.metadata) !== JSON.stringify(existing.metadata))
      if (changed) {
        if (input.roleOverride !== undefined) existing.roleOverride = input.roleOverride
        if (input.metadata !== undefined) existing.metadata = input.metadata
        this.emit(organizationId, 'project_member.updated', { ...existing })
      }
      return { member: { ...existing }, created: false }
    }
    const at = now()
    const member: ProjectMember = {
      id: randomUUID(),
      projectId,
      userId,
      roleOverride: input.roleOverride ?? null,
      metadata: input.metadata ?? null,
      externalRef: input.externalRef ?? null,
      createdAt: at,
    }
    index.members.set(userId, member)
    this.emit(organizationId, 'project_member.added', { ...member })
    this.link(org, 'project_member', member.id, member.externalRef, at)
    return { member: { ...member }, created: true }
  }

  removeMember(organizationId: string, projectId: string, userId: string): void {
    const org = this.requireOrg(organizationId)
    this.requireProject(organizationId, projectId)
    const index = this.projectIndex.get(projectId)!
    const member = index.members.get(userId)
    if (!member) throw new SandboxError(404, 'not_found', `user ${userId} is not a member of project ${projectId}`)
    index.members.delete(userId)
    org.links.removeByEntityId(member.id)
    this.emit(organizationId, 'project_member.removed', { ...member })
  }

  // ─── deletions a manager makes in Align's UI (control API; the catalog has no event for them) ───

  /** Deletes a project that holds nothing: 409 while it has time entries, members or wiki pages. */
  deleteProject(projectId: string): Project {
    const project = this.projects.get(projectId)
    if (!project) throw notFound('project', projectId)
    const index = this.projectIndex.get(projectId)!
    if (index.entryIds.size > 0 || index.members.size > 0 || index.wikiPageIds.size > 0) {
      throw invalidState(`project ${projectId} still has time entries, members or wiki pages; remove them first`)
    }
    const org = this.orgs.get(project.organizationId)!
    this.projects.delete(projectId)
    this.projectIndex.delete(projectId)
    org.projectIds.delete(projectId)
    org.links.removeByEntityId(projectId)
    return { ...project }
  }

  /** Deletes a user of no project and with no time entries; the organization's admin stays (409). */
  deleteUser(userId: string): User {
    const user = this.users.get(userId)
    if (!user) throw notFound('user', userId)
    const org = this.orgs.get(user.organizationId)!
    if (org.adminUserId === userId) throw invalidState(`user ${userId} is the organization's admin`)
    for (const projectId of org.projectIds) {
      if (this.projectIndex.get(projectId)!.members.has(userId)) throw invalidState(`user ${userId} is a member of project ${projectId}; remove the membership first`)
    }
    for (const entry of this.entries.values()) {
      if (entry.userId === userId) throw invalidState(`user ${userId} has time entries`)
    }
    this.users.delete(userId)
    org.userIds.delete(userId)
    org.userIdByEmail.delete(user.email)
    org.links.removeByEntityId(userId)
    return { ...user }
  }

  deleteWikiPage(pageId: string): WikiPage {
    const page = this.wikiPages.get(pageId)
    if (!page) throw notFound('wiki page', pageId)
    this.wikiPages.delete(pageId)
    this.projectIndex.get(page.projectId)?.wikiPageIds.delete(pageId)
    this.orgs.get(this.projects.get(page.projectId)!.organizationId)!.links.removeByEntityId(pageId)
    return { ...page }
  }

  /**
   * Removes one integration link and the externalRef of its entity, which stays: Align no longer knows
   * which Illumera entity it mirrors (its API sets an externalRef only when an entity is created).
   */
  removeIntegrationLink(linkId: string): IntegrationLink {
    for (const org of this.orgs.values()) {
      const link = org.links.findById(linkId)
      if (!link) continue
      org.links.removeByEntityId(link.entityId)
      const entity = this.entityOf(org, link.entityType, link.entityId)
      if (entity) entity.externalRef = null
      return { ...link }
    }
    throw notFound('integration link', linkId)
  }

  setMemberRate(projectId: string, userId: string, hourlyRateCents: number): MemberState {
    const project = this.projects.get(projectId)
    if (!project) throw notFound('project', projectId)
    const member = this.projectIndex.get(projectId)!.members.get(userId)
    if (!member) throw new SandboxError(404, 'not_found', `user ${userId} is not a member of project ${projectId}`)
    this.rates.set(`${projectId}:${userId}`, hourlyRateCents)
    this.emit(project.organizationId, 'project_member.updated', { ...member })
    return { ...member, hourlyRateCents }
  }

  setPlannedCost(projectId: string, plannedCostCents: number): Project & { plannedCostCents: number } {
    const project = this.projects.get(projectId)
    if (!project) throw notFound('project', projectId)
    this.projectIndex.get(projectId)!.plannedCostCents = plannedCostCents
    return { ...project, plannedCostCents }
  }

  // ─── invoices ──────────────────────────────────────────────────────────────

  /**
   * A manager invoices every locked entry of a project: each becomes invoiced (time.invoiced), then the
   * invoice is finalized (invoice.finalized). 409 when nothing is locked.
   */
  finalizeInvoice(projectId: string): AlignInvoice {
    const project = this.projects.get(projectId)
    if (!project) throw notFound('project', projectId)
    const locked = [...this.projectIndex.get(projectId)!.entryIds].map((id) => this.entries.get(id)!).filter((e) => e.status === 'locked')
    if (locked.length === 0) throw invalidState(`project ${projectId} has no locked time entries to invoice`)
    let cost = 0
    for (const entry of locked) {
      cost += entry.minutes * (this.rates.get(`${projectId}:${entry.userId}`) ?? 0)
      this.transition(entry, ['locked'], 'invoiced', 'time.invoiced')
    }
    const at = now()
    const invoice: AlignInvoice = {
      id: randomUUID(),
      organizationId: project.organizationId,
      projectId,
      status: 'finalized',
      currency: 'USD',
      amount: formatCents(Math.round(cost / 60)),
      totalMinutes: locked.reduce((sum, e) => sum + e.minutes, 0),
      timeEntryIds: locked.map((e) => e.id),
      createdAt: at,
      finalizedAt: at,
      paidAt: null,
    }
    this.invoices.set(invoice.id, invoice)
    this.emit(project.organizationId, 'invoice.finalized', { ...invoice })
    return { ...invoice }
  }

  /** The client pays a finalized invoice (invoice.paid); 409 when already paid. */
  payInvoice(invoiceId: string): AlignInvoice {
    const invoice = this.invoices.get(invoiceId)
    if (!invoice) throw notFound('invoice', invoiceId)
    if (invoice.status !== 'finalized') throw invalidState(`invoice ${invoiceId} is ${invoice.status}; only a finalized invoice can be paid`)
    invoice.status = 'paid'
    invoice.paidAt = now()
    this.emit(invoice.organizationId, 'invoice.paid', { ...invoice })
    return { ...invoice }
  }

  // ─── time entries ──────────────────────────────────────────────────────────

  /** POST /projects/:id/time-entries, and entries logged directly in Align (externalRef null). */
  createTimeEntry(organizationId: string, projectId: string, input: CreateTimeEntryInput): TimeEntry {
    const org = this.requireOrg(organizationId)
    const project = this.requireProject(organizationId, projectId)
    if (!isValidDate(input.workDate)) throw validationError('workDate', `workDate ${input.workDate} is not a calendar date (YYYY-MM-DD)`)
    if (project.status === 'archived') throw invalidState(`project ${projectId} is archived; time cannot be logged on it`)
    const index = this.projectIndex.get(projectId)!
    if (!index.members.has(input.userId)) {
      const exists = this.users.get(input.userId)?.organizationId === organizationId
      throw new SandboxError(
        422,
        'user_not_member',
        exists ? `userId: user ${input.userId} is not a member of project ${projectId}` : `userId: user ${input.userId} does not exist in this organization`,
        'userId',
      )
    }
    const at = now()
    const entry: TimeEntry = {
      id: randomUUID(),
      organizationId,
      projectId,
      userId: input.userId,
      workDate: input.workDate,
      hours: formatHours(input.minutes),
      minutes: input.minutes,
      description: input.description ?? null,
      billable: input.billable ?? true,
      status: 'draft',
      rejectionReason: null,
      externalRef: input.externalRef ?? null,
      createdAt: at,
      updatedAt: at,
    }
    this.entries.set(entry.id, entry)
    index.entryIds.add(entry.id)
    this.emit(organizationId, 'time.logged', { ...entry })
    this.link(org, 'time_entry', entry.id, entry.externalRef, at)
    return { ...entry }
  }

  /** PATCH /time-entries/:id: a draft, or a rejected entry (which goes back to draft). */
  updateTimeEntry(organizationId: string, entryId: string, patch: UpdateTimeEntryInput): TimeEntry {
    const entry = this.requireEntry(organizationId, entryId)
    if (entry.status !== 'draft' && entry.status !== 'rejected') {
      throw invalidState(`time entry ${entryId} is ${entry.status}; only draft or rejected entries can be changed`)
    }
    this.applyEntryPatch(entry, patch)
    if (entry.status === 'rejected') {
      entry.status = 'draft'
      entry.rejectionReason = null
    }
    this.emit(organizationId, 'time.updated', { ...entry })
    return { ...entry }
  }

  /** A manager edits an entry in Align's UI, whatever its status (control API). */
  editTimeEntry(entryId: string, patch: UpdateTimeEntryInput): TimeEntry {
    const entry = this.entries.get(entryId)
    if (!entry) throw notFound('time entry', entryId)
    this.applyEntryPatch(entry, patch)
    this.emit(entry.organizationId, 'time.updated', { ...entry })
    return { ...entry }
  }

  submitTimeEntry(organizationId: string, entryId: string): TimeEntry {
    return this.transition(this.requireEntry(organizationId, entryId), ['draft'], 'submitted', 'time.submitted')
  }

  /** API and control: approved or locked → draft. */
  unlockTimeEntry(organizationId: string | null, entryId: string): TimeEntry {
    const entry = organizationId === null ? this.anyEntry(entryId) : this.requireEntry(organizationId, entryId)
    return this.transition(entry, ['approved', 'locked'], 'draft', 'time.unlocked')
  }

  approveTimeEntry(entryId: string): TimeEntry {
    return this.transition(this.anyEntry(entryId), ['submitted'], 'approved', 'time.approved')
  }

  rejectTimeEntry(entryId: string, reason: string): TimeEntry {
    const entry = this.anyEntry(entryId)
    if (entry.status !== 'submitted') throw invalidState(`time entry ${entryId} is ${entry.status}; only submitted entries can be rejected`)
    entry.status = 'rejected'
    entry.rejectionReason = reason
    entry.updatedAt = now()
    // The reference's handler reads the reason from data.reason.
    this.emit(entry.organizationId, 'time.rejected', { ...entry, reason })
    return { ...entry }
  }

  lockTimeEntry(entryId: string): TimeEntry {
    return this.transition(this.anyEntry(entryId), ['approved'], 'locked', 'time.locked')
  }

  invoiceTimeEntry(entryId: string): TimeEntry {
    return this.transition(this.anyEntry(entryId), ['approved', 'locked'], 'invoiced', 'time.invoiced')
  }

  /**
   * API (organizationId given): draft or submitted only. Control (null): a manager may delete
   * anything not yet invoiced, which lets tests send time.deleted for an approved entry.
   */
  deleteTimeEntry(organizationId: string | null, entryId: string): TimeEntry {
    const entry = organizationId === null ? this.anyEntry(entryId) : this.requireEntry(organizationId, entryId)
    const allowed: TimeEntryStatus[] = organizationId === null ? ['draft', 'submitted', 'rejected', 'approved', 'locked'] : ['draft', 'submitted']
    if (!allowed.includes(entry.status)) throw invalidState(`time entry ${entryId} is ${entry.status}; it can be deleted only when ${allowed.join(' or ')}`)
    this.entries.delete(entryId)
    this.projectIndex.get(entry.projectId)?.entryIds.delete(entryId)
    this.orgs.get(entry.organizationId)?.links.removeByEntityId(entryId)
    this.emit(entry.organizationId, 'time.deleted', { ...entry })
    return { ...entry }
  }

  logTimeEntry(organizationId: string, input: { projectId: string } & Omit<CreateTimeEntryInput, 'externalRef'>): TimeEntry {
    const { projectId, ...rest } = input
    return this.createTimeEntry(organizationId, projectId, { ...rest, externalRef: null })
  }

  // ─── summaries ─────────────────────────────────────────────────────────────

  timeSummary(organizationId: string, projectId: string, status?: TimeEntryStatus): TimeSummary {
    this.requireProject(organizationId, projectId)
    const byStatus = Object.fromEntries(TIME_ENTRY_STATUSES.map((s) => [s, 0])) as Record<TimeEntryStatus, number>
    const byUser = new Map<string, number>()
    let totalMinutes = 0
    let billableMinutes = 0
    for (const id of this.projectIndex.get(projectId)!.entryIds) {
      const entry = this.entries.get(id)!
      if (status !== undefined && entry.status !== status) continue
      totalMinutes += entry.minutes
      if (entry.billable) billableMinutes += entry.minutes
      byStatus[entry.status] += entry.minutes
      byUser.set(entry.userId, (byUser.get(entry.userId) ?? 0) + entry.minutes)
    }
    return {
      projectId,
      totalMinutes,
      totalHours: formatHours(totalMinutes),
      billableMinutes,
      byStatus,
      byUser: [...byUser].sort(([a], [b]) => (a < b ? -1 : 1)).map(([userId, minutes]) => ({ userId, totalMinutes: minutes })),
    }
  }

  costSummary(organizationId: string, projectId: string): CostSummary {
    this.requireProject(organizationId, projectId)
    const index = this.projectIndex.get(projectId)!
    // Sums of minutes × cents-per-hour, exact integers; divided by 60 and rounded once at the end.
    let actual = 0
    let approved = 0
    let pending = 0
    for (const id of index.entryIds) {
      const entry = this.entries.get(id)!
      const cost = entry.minutes * (this.rates.get(`${projectId}:${entry.userId}`) ?? 0)
      actual += cost
      if (entry.status === 'approved' || entry.status === 'locked' || entry.status === 'invoiced') approved += cost
      else if (entry.status === 'submitted') pending += cost
    }
    return {
      projectId,
      currency: 'USD',
      plannedCost: formatCents(index.plannedCostCents),
      actualCost: formatCents(Math.round(actual / 60)),
      approvedCost: formatCents(Math.round(approved / 60)),
      pendingCost: formatCents(Math.round(pending / 60)),
    }
  }

  // ─── wiki pages ────────────────────────────────────────────────────────────

  createWikiPage(organizationId: string, projectId: string, input: CreateWikiPageInput): WikiPage {
    const org = this.requireOrg(organizationId)
    this.requireProject(organizationId, projectId)
    const at = now()
    const page: WikiPage = {
      id: randomUUID(),
      projectId,
      title: input.title,
      content: input.content,
      externalRef: input.externalRef ?? null,
      createdAt: at,
      updatedAt: at,
    }
    this.wikiPages.set(page.id, page)
    this.projectIndex.get(projectId)!.wikiPageIds.add(page.id)
    this.emit(organizationId, 'wiki_page.created', { ...page })
    this.link(org, 'wiki_page', page.id, page.externalRef, at)
    return { ...page }
  }

  updateWikiPage(organizationId: string, pageId: string, patch: UpdateWikiPageInput): WikiPage {
    const page = this.wikiPages.get(pageId)
    if (!page || this.projects.get(page.projectId)?.organizationId !== organizationId) throw notFound('wiki page', pageId)
    if (patch.title !== undefined) page.title = patch.title
    if (patch.content !== undefined) page.content = patch.content
    page.updatedAt = now()
    this.emit(organizationId, 'wiki_page.updated', { ...page })
    return { ...page }
  }

  // ─── webhooks and integration links ────────────────────────────────────────

  createWebhook(organizationId: string, input: CreateWebhookInput): CreatedWebhookSubscription {
    const org = this.requireOrg(organizationId)
    const record: WebhookRecord = {
      id: randomUUID(),
      organizationId,
      destinationUrl: input.destinationUrl,
      eventNames: [...new Set(input.eventNames)],
      enabled: true,
      description: input.description ?? null,
      hmacSecret: `whsec_${randomBytes(24).toString('hex')}`,
      createdAt: now(),
    }
    this.webhooks.set(record.id, record)
    org.webhookIds.add(record.id)
    return { ...toWebhookView(record), hmacSecret: record.hmacSecret }
  }

  listWebhooks(organizationId: string): WebhookSubscription[] {
    const org = this.requireOrg(organizationId)
    return [...org.webhookIds].map((id) => toWebhookView(this.webhooks.get(id)!))
  }

  deleteWebhook(organizationId: string, webhookId: string): void {
    const org = this.requireOrg(organizationId)
    const record = this.webhooks.get(webhookId)
    if (!record || record.organizationId !== organizationId) throw notFound('webhook', webhookId)
    this.webhooks.delete(webhookId)
    org.webhookIds.delete(webhookId)
    this.onWebhookDeleted(webhookId)
  }

  integrationLinks(organizationId: string, page: number, pageSize: number, filter: { externalType?: string; externalId?: string }): IntegrationLinkPage {
    const org = this.requireOrg(organizationId)
    return { ...org.links.page(page, pageSize, filter), page, pageSize }
  }

  // ─── control views ─────────────────────────────────────────────────────────

  state(organizationId: string): OrganizationState {
    const org = this.requireOrg(organizationId)
    const projects = [...org.projectIds].map((id) => ({ ...this.projects.get(id)!, plannedCostCents: this.projectIndex.get(id)!.plannedCostCents }))
    const members: MemberState[] = []
    const timeEntries: TimeEntry[] = []
    const wikiPages: WikiPage[] = []
    for (const project of projects) {
      const index = this.projectIndex.get(project.id)!
      for (const member of index.members.values()) members.push({ ...member, hourlyRateCents: this.rates.get(`${project.id}:${member.userId}`) ?? 0 })
      for (const id of index.entryIds) timeEntries.push({ ...this.entries.get(id)! })
      for (const id of index.wikiPageIds) wikiPages.push({ ...this.wikiPages.get(id)! })
    }
    return {
      organizationId,
      name: org.name,
      projects,
      users: [...org.userIds].map((id) => ({ ...this.users.get(id)! })),
      members,
      timeEntries,
      wikiPages,
      invoices: [...this.invoices.values()].filter((i) => i.organizationId === organizationId).map((i) => ({ ...i, timeEntryIds: [...i.timeEntryIds] })),
      integrationLinks: org.links.list(),
      webhooks: this.listWebhooks(organizationId),
      apiKeys: [...org.keyIds].map((key) => {
        const k = this.keys.get(key)!
        return { apiKeyId: k.id, scope: k.scope, scopedProjectId: k.scopedProjectId, revoked: k.revoked, createdAt: k.createdAt }
      }),
    }
  }

  // ─── helpers ───────────────────────────────────────────────────────────────

  private emit(organizationId: string, eventName: WebhookEventName, data: unknown): void {
    const org = this.orgs.get(organizationId)
    if (!org || org.webhookIds.size === 0) return
    const targets = []
    for (const id of org.webhookIds) {
      const hook = this.webhooks.get(id)!
      if (hook.enabled && hook.eventNames.includes(eventName)) targets.push({ subscriptionId: hook.id, destinationUrl: hook.destinationUrl, hmacSecret: hook.hmacSecret })
    }
    if (targets.length) this.sink(organizationId, eventName, data, targets)
  }

  private link(org: OrganizationRecord, entityType: ExternalType, entityId: string, externalRef: ExternalRef | null, at: string): void {
    if (!externalRef) return
    const link: IntegrationLink = {
      id: randomUUID(),
      entityType,
      entityId,
      externalType: externalRef.externalType,
      externalId: externalRef.externalId,
      externalRef,
      createdAt: at,
    }
    org.links.add(link)
    this.emit(org.id, 'integration_link.created', { ...link })
  }

  private transition(entry: TimeEntry, from: TimeEntryStatus[], to: TimeEntryStatus, event: WebhookEventName): TimeEntry {
    if (!from.includes(entry.status)) {
      throw invalidState(`time entry ${entry.id} is ${entry.status}; it must be ${from.join(' or ')} to become ${to}`)
    }
    entry.status = to
    if (to === 'draft') entry.rejectionReason = null
    entry.updatedAt = now()
    this.emit(entry.organizationId, event, { ...entry })
    return { ...entry }
  }

  private applyEntryPatch(entry: TimeEntry, patch: UpdateTimeEntryInput): void {
    if (patch.workDate !== undefined) {
      if (!isValidDate(patch.workDate)) throw validationError('workDate', `workDate ${patch.workDate} is not a calendar date (YYYY-MM-DD)`)
      entry.workDate = patch.workDate
    }
    if (patch.minutes !== undefined) {
      entry.minutes = patch.minutes
      entry.hours = formatHours(patch.minutes)
    }
    if (patch.description !== undefined) entry.description = patch.description
    if (patch.billable !== undefined) entry.billable = patch.billable
    entry.updatedAt = now()
  }

  private entityOf(org: OrganizationRecord, type: ExternalType, id: string): { externalRef: ExternalRef | null } | undefined {
    switch (type) {
      case 'project': return this.projects.get(id)
      case 'user': return this.users.get(id)
      case 'time_entry': return this.entries.get(id)
      case 'wiki_page': return this.wikiPages.get(id)
      case 'project_member':
        for (const projectId of org.projectIds) {
          for (const member of this.projectIndex.get(projectId)!.members.values()) if (member.id === id) return member
        }
        return undefined
    }
  }

  private requireOrg(organizationId: string): OrganizationRecord {
    const org = this.orgs.get(organizationId)
    if (!org) throw notFound('organization', organizationId)
    return org
  }

  private requireProject(organizationId: string, projectId: string): Project {
    const project = this.projects.get(projectId)
    if (!project || project.organizationId !== organizationId) throw notFound('project', projectId)
    return project
  }

  private requireUser(organizationId: string, userId: string): User {
    const user = this.users.get(userId)
    if (!user || user.organizationId !== organizationId) throw notFound('user', userId)
    return user
  }

  private requireEntry(organizationId: string, entryId: string): TimeEntry {
    const entry = this.entries.get(entryId)
    if (!entry || entry.organizationId !== organizationId) throw notFound('time entry', entryId)
    return entry
  }

  private anyEntry(entryId: string): TimeEntry {
    const entry = this.entries.get(entryId)
    if (!entry) throw notFound('time entry', entryId)
    return entry
  }
}

function toWebhookView(record: WebhookRecord): WebhookSubscription {
  return {
    id: record.id,
    destinationUrl: record.destinationUrl,
    eventNames: [...record.eventNames],
    enabled: record.enabled,
    description: record.description,
    createdAt: record.createdAt,
  }
}
