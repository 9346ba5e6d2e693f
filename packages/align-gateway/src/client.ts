// AlignGateway: one typed method per Align endpoint Illumera uses. Each method builds the path
// and body, and hands them to the transport (request.ts) with the checker of its response.
import type { Dispatcher } from 'undici'
import { AlignTransport, type AlignResponseInfo, type HttpMethod } from './request.js'
import type { AlignRateLimit } from './rate-limit.js'
import { responseChecker, type ResponseChecker } from './validate.js'
import type { AlignExternalRef, AlignExternalRefInput, AlignExternalType } from './schemas/common.js'
import { AlignMeSchema, type AlignMe } from './schemas/me.js'
import {
  AlignBulkInviteResultSchema,
  AlignInviteResultSchema,
  AlignUserSchema,
  type AlignBulkInviteInput,
  type AlignBulkInviteResult,
  type AlignInviteResult,
  type AlignInviteUserInput,
  type AlignUser,
  type AlignUserUpdate,
} from './schemas/users.js'
import {
  AlignProjectMemberSchema,
  AlignProjectSchema,
  type AlignAddProjectMemberInput,
  type AlignCreateProjectInput,
  type AlignProject,
  type AlignProjectMember,
  type AlignProjectUpdate,
} from './schemas/projects.js'
import {
  AlignCostSummarySchema,
  AlignTimeEntrySchema,
  AlignTimeSummarySchema,
  type AlignCostSummary,
  type AlignCreateTimeEntryInput,
  type AlignTimeEntry,
  type AlignTimeEntryStatus,
  type AlignTimeEntryUpdate,
  type AlignTimeSummary,
} from './schemas/time-entries.js'
import {
  AlignWikiPageSchema,
  type AlignCreateWikiPageInput,
  type AlignWikiPage,
  type AlignWikiPageUpdate,
} from './schemas/wiki-pages.js'
import {
  AlignWebhookSubscriptionSchema,
  type AlignCreateWebhookInput,
  type AlignWebhookSubscription,
} from './schemas/webhooks.js'
import {
  AlignIntegrationLinkPageSchema,
  type AlignIntegrationLink,
  type AlignIntegrationLinkPage,
} from './schemas/integration-links.js'
import { VERSION } from './version.js'

export const DEFAULT_BASE_URL = 'https://app.alignsoft.us/api/v1'
/** Align accepts at most this many invites per bulk-invite call. */
export const MAX_BULK_INVITES = 50
/** Largest page Align serves for /integration-links. */
export const MAX_PAGE_SIZE = 100

export interface AlignGatewayOptions {
  /** An organization-scoped Align API key. Never logged, never put in an error. */
  apiKey: string
  /** Defaults to `https://app.alignsoft.us/api/v1`. */
  baseUrl?: string
  /** Total time allowed for one attempt (connect, headers and body). Default 30 000. */
  timeoutMs?: number
  /** Retries after the first attempt, for failures that are safe to retry. Default 2. */
  maxRetries?: number
  /** First backoff delay; doubles per retry, with jitter. Default 500. */
  retryBaseDelayMs?: number
  /** Backoff ceiling. Default 8 000. */
  retryMaxDelayMs?: number
  /** An undici dispatcher to use instead of the shared keep-alive pool (e.g. a MockAgent or a proxy). */
  dispatcher?: Dispatcher
  /**
   * Called once per HTTP attempt with non-secret fields only (for logs and metrics).
   * Errors it throws are ignored.
   */
  onResponse?: (info: AlignResponseInfo) => void
}

/** Every call accepts an AbortSignal; a cancelled call rejects with the signal's reason. */
export interface AlignRequestOptions {
  signal?: AbortSignal
}

/** Mutations may carry an Idempotency-Key; with one, a POST/PATCH is retried safely. */
export interface AlignMutationOptions extends AlignRequestOptions {
  idempotencyKey?: string
}

/** Creates must carry an Idempotency-Key (Illumera uses the local entity id). */
export interface AlignCreateOptions extends AlignRequestOptions {
  idempotencyKey: string
}

export interface AlignListIntegrationLinksParams extends AlignRequestOptions {
  /** 1-based. Default 1. */
  page?: number
  /** 1..100. Default 100. */
  pageSize?: number
  /** Exact match on the link's externalRef.externalType. */
  externalType?: AlignExternalType
  /** Exact match on the link's externalId. */
  externalId?: string
}

export interface AlignIntegrationLinksParams extends AlignRequestOptions {
  /** 1..100. Default 100. */
  pageSize?: number
  externalType?: AlignExternalType
  externalId?: string
}

export interface AlignTimeSummaryParams extends AlignRequestOptions {
  /** Count only entries in this status (e.g. `approved` for reconciliation). */
  status?: AlignTimeEntryStatus
}

const checkers = {
  me: responseChecker(AlignMeSchema),
  user: responseChecker(AlignUserSchema),
  invite: responseChecker(AlignInviteResultSchema),
  bulkInvite: responseChecker(AlignBulkInviteResultSchema),
  project: responseChecker(AlignProjectSchema),
  member: responseChecker(AlignProjectMemberSchema),
  timeEntry: responseChecker(AlignTimeEntrySchema),
  timeSummary: responseChecker(AlignTimeSummarySchema),
  costSummary: responseChecker(AlignCostSummarySchema),
  wikiPage: responseChecker(AlignWikiPageSchema),
  webhook: responseChecker(AlignWebhookSubscriptionSchema),
  linkPage: responseChecker(AlignIntegrationLinkPageSchema),
}

function segment(value: string, name: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`${name} must be a non-empty string`)
  return encodeURIComponent(value)
}

function externalRef<K extends AlignExternalType>(ref: AlignExternalRefInput<K>, kind: K): AlignExternalRef {
  if (typeof ref !== 'object' || ref === null) throw new TypeError(`externalRef is required ({ externalType: '${kind}', externalId })`)
  if (ref.externalType !== kind) {
    throw new TypeError(`externalRef.externalType must be '${kind}' here, got '${String(ref.externalType)}'`)
  }
  if (typeof ref.externalId !== 'string' || ref.externalId.length === 0) {
    throw new TypeError('externalRef.externalId must be a non-empty string')
  }
  return { provider: 'illumera', externalType: kind, externalId: ref.externalId }
}

function requireIdempotencyKey(options: AlignCreateOptions | undefined, method: string): string {
  const key = options?.idempotencyKey
  if (typeof key !== 'string' || key.length === 0) {
    throw new TypeError(`${method} requires options.idempotencyKey (use the local entity id) so that a retry cannot create a duplicate`)
  }
  return key
}

function positiveInteger(value: number, name: string, max?: number): number {
  if (!Number.isInteger(value) || value < 1 || (max !== undefined && value > max)) {
    throw new RangeError(`${name} must be an integer from 1${max === undefined ? '' : ` to ${max}`}, got ${value}`)
  }
  return value
}

/**
 * The typed client of the Align REST API.
 *
 * @example
 * import { AlignGateway } from '@illumera/align-gateway'
 *
 * const align = new AlignGateway({ apiKey: decryptedKey, onResponse: (info) => log.debug(info, 'align') })
 * const me = await align.getMe()
 * if (me.scope !== 'organization') throw new Error('an organization-scoped key is required')
 */
export class AlignGateway {
  readonly #transport: AlignTransport

  constructor(options: AlignGatewayOptions) {
    if (typeof options?.apiKey !== 'string' || options.apiKey.trim().length === 0) {
      throw new TypeError('AlignGateway: apiKey must be a non-empty string')
    }
    const timeoutMs = options.timeoutMs ?? 30_000
    const maxRetries = options.maxRetries ?? 2
    const retryBaseDelayMs = options.retryBaseDelayMs ?? 500
    const retryMaxDelayMs = options.retryMaxDelayMs ?? 8_000
    if (!(timeoutMs > 0)) throw new RangeError(`AlignGateway: timeoutMs must be > 0, got ${timeoutMs}`)
    if (!Number.isInteger(maxRetries) || maxRetries < 0) {
      throw new RangeError(`AlignGateway: maxRetries must be an integer ≥ 0, got ${maxRetries}`)
    }
    if (!(retryBaseDelayMs >= 0) || !(retryMaxDelayMs >= retryBaseDelayMs)) {
      throw new RangeError('AlignGateway: need 0 ≤ retryBaseDelayMs ≤ retryMaxDelayMs')
    }
    this.#transport = new AlignTransport({
      apiKey: options.apiKey,
      baseUrl: options.baseUrl ?? DEFAULT_BASE_URL,
      timeoutMs,
      maxRetries,
      retryBaseDelayMs,
      retryMaxDelayMs,
      dispatcher: options.dispatcher,
      onResponse: options.onResponse,
      userAgent: `illumera-align-gateway/${VERSION}`,
    })
  }

  /** The base URL requests go to (never holds a credential). */
  get baseUrl(): string {
    return this.#transport.baseUrl
  }

  /**
   * Rate-limit headers of the most recent response that carried them, or null before any.
   *
   * @example
   * await align.createTimeEntry(projectId, entry, { idempotencyKey: localId })
   * const budget = align.lastRateLimit
   * if (budget && budget.remaining < 10) await pauseUntil(budget.resetAt)
   */
  get lastRateLimit(): AlignRateLimit | null {
    return this.#transport.lastRateLimit
  }

  toJSON(): Record<string, unknown> {
    return { baseUrl: this.baseUrl }
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `AlignGateway { baseUrl: '${this.baseUrl}' }`
  }

  #call<T>(
    method: HttpMethod,
    path: string,
    checker: ResponseChecker<T> | null,
    options: AlignMutationOptions | undefined,
    body?: unknown,
    query?: string,
  ): Promise<T> {
    return this.#transport.request({
      method,
      path,
      query,
      body,
      checker,
      signal: options?.signal,
      idempotencyKey: options?.idempotencyKey,
    })
  }

  /**
   * `GET /me`: validates the key and tells its organization and scope.
   *
   * @example
   * const me = await align.getMe()
   * if (me.scope === 'project') throw new Error('project-scoped keys are not supported')
   */
  async getMe(options?: AlignRequestOptions): Promise<AlignMe> {
    return this.#call('GET', '/me', checkers.me, options)
  }

  /**
   * `POST /users/invite`: provisions a user, or returns the existing one (`created: false`).
   *
   * @example
   * const { userId } = await align.inviteUser(
   *   { email: 'alice@example.com', name: 'Alice Smith', role: 'developer', sendInvite: false,
   *     externalRef: { externalType: 'user', externalId: localUserId } },
   *   { idempotencyKey: localUserId },
   * )
   */
  async inviteUser(input: AlignInviteUserInput, options: AlignCreateOptions): Promise<AlignInviteResult> {
    const idempotencyKey = requireIdempotencyKey(options, 'inviteUser')
    const body = {
      email: input.email,
      name: input.name,
      role: input.role,
      sendInvite: input.sendInvite,
      externalRef: externalRef(input.externalRef, 'user'),
    }
    return this.#call('POST', '/users/invite', checkers.invite, { ...options, idempotencyKey }, body)
  }

  /**
   * `POST /users/bulk-invite`: up to 50 invites in one request; results come back in order and
   * one failed invite does not fail the others. More than 50 is refused before anything is sent.
   *
   * @example
   * const { results } = await align.bulkInviteUsers(
   *   { invites: people.map((p) => ({ email: p.email, name: p.name, role: 'developer',
   *       externalRef: { externalType: 'user', externalId: p.id } })), sendInvite: false },
   *   { idempotencyKey: `bulk:${batchId}` },
   * )
   */
  async bulkInviteUsers(input: AlignBulkInviteInput, options: AlignCreateOptions): Promise<AlignBulkInviteResult> {
    const idempotencyKey = requireIdempotencyKey(options, 'bulkInviteUsers')
    if (!Array.isArray(input?.invites)) throw new TypeError('bulkInviteUsers: invites must be an array')
    if (input.invites.length > MAX_BULK_INVITES) {
      throw new RangeError(
        `bulkInviteUsers: Align accepts at most ${MAX_BULK_INVITES} invites per call, got ${input.invites.length}; split the list`,
      )
    }
    const body = {
      invites: input.invites.map((invite) => ({
        email: invite.email,
        name: invite.name,
        role: invite.role,
        externalRef: externalRef(invite.externalRef, 'user'),
      })),
      sendInvite: input.sendInvite,
    }
    return this.#call('POST', '/users/bulk-invite', checkers.bulkInvite, { ...options, idempotencyKey }, body)
  }

  /**
   * `GET /users/:id`.
   *
   * @example
   * const user = await align.getUser(alignUserId)
   */
  async getUser(userId: string, options?: AlignRequestOptions): Promise<AlignUser> {
    return this.#call('GET', `/users/${segment(userId, 'userId')}`, checkers.user, options)
  }

  /**
   * `PATCH /users/:id`: updates name, email or role; returns the full user.
   *
   * @example
   * await align.updateUser(alignUserId, { name: 'Alice Smith-Jones' }, { idempotencyKey: `user:${id}:${version}` })
   */
  async updateUser(userId: string, patch: AlignUserUpdate, options?: AlignMutationOptions): Promise<AlignUser> {
    const body = { name: patch.name, email: patch.email, role: patch.role }
    return this.#call('PATCH', `/users/${segment(userId, 'userId')}`, checkers.user, options, body)
  }

  /**
   * `POST /projects`.
   *
   * @example
   * const project = await align.createProject(
   *   { name: 'Federal Data Platform', description: 'GSA modernization', timeBillingEnabled: true,
   *     externalRef: { externalType: 'project', externalId: localProjectId } },
   *   { idempotencyKey: localProjectId },
   * )
   */
  async createProject(input: AlignCreateProjectInput, options: AlignCreateOptions): Promise<AlignProject> {
    const idempotencyKey = requireIdempotencyKey(options, 'createProject')
    const body = {
      name: input.name,
      description: input.description,
      timeBillingEnabled: input.timeBillingEnabled,
      externalRef: externalRef(input.externalRef, 'project'),
    }
    return this.#call('POST', '/projects', checkers.project, { ...options, idempotencyKey }, body)
  }

  /**
   * `PATCH /projects/:id`: every field optional.
   *
   * @example
   * await align.updateProject(alignProjectId, { name: 'Renamed', description: null })
   */
  async updateProject(projectId: string, patch: AlignProjectUpdate, options?: AlignMutationOptions): Promise<AlignProject> {
    const body = {
      name: patch.name,
      description: patch.description,
      status: patch.status,
      timeBillingEnabled: patch.timeBillingEnabled,
    }
    return this.#call('PATCH', `/projects/${segment(projectId, 'projectId')}`, checkers.project, options, body)
  }

  /**
   * `POST /projects/:id/members/:userId`: adds the user, or returns the existing membership.
   *
   * @example
   * await align.addProjectMember(alignProjectId, alignUserId,
   *   { roleOverride: 'developer', externalRef: { externalType: 'project_member', externalId: engagementId } },
   *   { idempotencyKey: engagementId })
   */
  async addProjectMember(
    projectId: string,
    userId: string,
    input: AlignAddProjectMemberInput,
    options: AlignCreateOptions,
  ): Promise<AlignProjectMember> {
    const idempotencyKey = requireIdempotencyKey(options, 'addProjectMember')
    const body = { roleOverride: input.roleOverride, externalRef: externalRef(input.externalRef, 'project_member') }
    const path = `/projects/${segment(projectId, 'projectId')}/members/${segment(userId, 'userId')}`
    return this.#call('POST', path, checkers.member, { ...options, idempotencyKey }, body)
  }

  /**
   * `DELETE /projects/:id/members/:userId`. A 404 (not a member) throws AlignNotFoundError.
   *
   * @example
   * await align.removeProjectMember(alignProjectId, alignUserId)
   */
  async removeProjectMember(projectId: string, userId: string, options?: AlignRequestOptions): Promise<void> {
    const path = `/projects/${segment(projectId, 'projectId')}/members/${segment(userId, 'userId')}`
    await this.#call('DELETE', path, null, options)
  }

  /**
   * `POST /projects/:id/time-entries`: a draft entry; the user must be a member of the project.
   *
   * @example
   * const entry = await align.createTimeEntry(alignProjectId,
   *   { userId: alignUserId, workDate: '2025-01-15', minutes: 150, description: 'Auth module', billable: true,
   *     externalRef: { externalType: 'time_entry', externalId: localEntryId } },
   *   { idempotencyKey: localEntryId })
   */
  async createTimeEntry(
    projectId: string,
    input: AlignCreateTimeEntryInput,
    options: AlignCreateOptions,
  ): Promise<AlignTimeEntry> {
    const idempotencyKey = requireIdempotencyKey(options, 'createTimeEntry')
    const body = {
      userId: input.userId,
      workDate: input.workDate,
      minutes: input.minutes,
      description: input.description,
      billable: input.billable,
      externalRef: externalRef(input.externalRef, 'time_entry'),
    }
    const path = `/projects/${segment(projectId, 'projectId')}/time-entries`
    return this.#call('POST', path, checkers.timeEntry, { signal: options.signal, idempotencyKey }, body)
  }

  /**
   * `PATCH /time-entries/:id`: allowed on draft (and rejected, which returns it to draft).
   *
   * @example
   * await align.updateTimeEntry(alignEntryId, { minutes: 90, description: 'Revised' }, { idempotencyKey: `${localId}:v3` })
   */
  async updateTimeEntry(timeEntryId: string, patch: AlignTimeEntryUpdate, options?: AlignMutationOptions): Promise<AlignTimeEntry> {
    const body = {
      workDate: patch.workDate,
      minutes: patch.minutes,
      description: patch.description,
      billable: patch.billable,
    }
    return this.#call('PATCH', `/time-entries/${segment(timeEntryId, 'timeEntryId')}`, checkers.timeEntry, options, body)
  }

  /**
   * `POST /time-entries/:id/submit`: draft → submitted (else AlignConflictError `invalid_state`).
   *
   * @example
   * await align.submitTimeEntry(alignEntryId, { idempotencyKey: `${localId}:submit` })
   */
  async submitTimeEntry(timeEntryId: string, options?: AlignMutationOptions): Promise<AlignTimeEntry> {
    const path = `/time-entries/${segment(timeEntryId, 'timeEntryId')}/submit`
    return this.#call('POST', path, checkers.timeEntry, options)
  }

  /**
   * `DELETE /time-entries/:id`: allowed on draft or submitted entries.
   *
   * @example
   * await align.deleteTimeEntry(alignEntryId)
   */
  async deleteTimeEntry(timeEntryId: string, options?: AlignRequestOptions): Promise<void> {
    await this.#call('DELETE', `/time-entries/${segment(timeEntryId, 'timeEntryId')}`, null, options)
  }

  /**
   * `POST /time-entries/:id/unlock`: locked or approved → draft.
   *
   * @example
   * const entry = await align.unlockTimeEntry(alignEntryId, { idempotencyKey: `${localId}:unlock:${requestId}` })
   */
  async unlockTimeEntry(timeEntryId: string, options?: AlignMutationOptions): Promise<AlignTimeEntry> {
    const path = `/time-entries/${segment(timeEntryId, 'timeEntryId')}/unlock`
    return this.#call('POST', path, checkers.timeEntry, options)
  }

  /**
   * `GET /projects/:id/time-summary[?status=]`: minutes by status and by user.
   *
   * @example
   * const { totalMinutes } = await align.getTimeSummary(alignProjectId, { status: 'approved' })
   */
  async getTimeSummary(projectId: string, params?: AlignTimeSummaryParams): Promise<AlignTimeSummary> {
    const query = params?.status ? `?status=${encodeURIComponent(params.status)}` : ''
    const path = `/projects/${segment(projectId, 'projectId')}/time-summary`
    return this.#call('GET', path, checkers.timeSummary, params, undefined, query)
  }

  /**
   * `GET /projects/:id/cost-summary`: decimal strings in `currency`.
   *
   * @example
   * const { approvedCost } = await align.getCostSummary(alignProjectId)
   * const approvedCents = Math.round(Number(approvedCost) * 100)
   */
  async getCostSummary(projectId: string, options?: AlignRequestOptions): Promise<AlignCostSummary> {
    return this.#call('GET', `/projects/${segment(projectId, 'projectId')}/cost-summary`, checkers.costSummary, options)
  }

  /**
   * `POST /projects/:id/wiki-pages`.
   *
   * @example
   * await align.createWikiPage(alignProjectId,
   *   { title: 'Illumera Staffing Plan', content: markdown, externalRef: { externalType: 'wiki_page', externalId: localProjectId } },
   *   { idempotencyKey: `${localProjectId}:wiki` })
   */
  async createWikiPage(projectId: string, input: AlignCreateWikiPageInput, options: AlignCreateOptions): Promise<AlignWikiPage> {
    const idempotencyKey = requireIdempotencyKey(options, 'createWikiPage')
    const body = { title: input.title, content: input.content, externalRef: externalRef(input.externalRef, 'wiki_page') }
    const path = `/projects/${segment(projectId, 'projectId')}/wiki-pages`
    return this.#call('POST', path, checkers.wikiPage, { ...options, idempotencyKey }, body)
  }

  /**
   * `PATCH /wiki-pages/:id`.
   *
   * @example
   * await align.updateWikiPage(alignPageId, { content: regeneratedMarkdown })
   */
  async updateWikiPage(wikiPageId: string, patch: AlignWikiPageUpdate, options?: AlignMutationOptions): Promise<AlignWikiPage> {
    const body = { title: patch.title, content: patch.content }
    return this.#call('PATCH', `/wiki-pages/${segment(wikiPageId, 'wikiPageId')}`, checkers.wikiPage, options, body)
  }

  /**
   * `POST /webhooks`: the response's `hmacSecret` is shown this once; store it encrypted at once.
   *
   * @example
   * const sub = await align.createWebhook(
   *   { destinationUrl: 'https://api.illumera.us/api/webhooks/align', eventNames: ['time.approved', 'time.rejected'],
   *     description: 'Illumera integration' },
   *   { idempotencyKey: `webhook:${connectionId}` })
   * await saveSecret(connectionId, encrypt(sub.hmacSecret))
   */
  async createWebhook(input: AlignCreateWebhookInput, options: AlignCreateOptions): Promise<AlignWebhookSubscription> {
    const idempotencyKey = requireIdempotencyKey(options, 'createWebhook')
    const body = { destinationUrl: input.destinationUrl, eventNames: input.eventNames, description: input.description }
    return this.#call('POST', '/webhooks', checkers.webhook, { ...options, idempotencyKey }, body)
  }

  /**
   * `DELETE /webhooks/:id`.
   *
   * @example
   * await align.deleteWebhook(connection.webhookSubscriptionId)
   */
  async deleteWebhook(webhookId: string, options?: AlignRequestOptions): Promise<void> {
    await this.#call('DELETE', `/webhooks/${segment(webhookId, 'webhookId')}`, null, options)
  }

  /**
   * `GET /integration-links`: one page of the Align entities that carry an Illumera externalRef.
   *
   * @example
   * const { data, total } = await align.listIntegrationLinks({ page: 2, pageSize: 100 })
   */
  async listIntegrationLinks(params: AlignListIntegrationLinksParams = {}): Promise<AlignIntegrationLinkPage> {
    const page = positiveInteger(params.page ?? 1, 'page')
    const pageSize = positiveInteger(params.pageSize ?? MAX_PAGE_SIZE, 'pageSize', MAX_PAGE_SIZE)
    let query = `?page=${page}&pageSize=${pageSize}`
    if (params.externalType !== undefined) query += `&externalType=${encodeURIComponent(params.externalType)}`
    if (params.externalId !== undefined) query += `&externalId=${encodeURIComponent(params.externalId)}`
    return this.#call('GET', '/integration-links', checkers.linkPage, params, undefined, query)
  }

  /**
   * Every integration link, page after page, until `total` have been seen or a page comes back
   * short. Break out of the loop to stop early.
   *
   * @example
   * for await (const link of align.integrationLinks({ externalType: 'time_entry' })) {
   *   alignIds.add(link.entityId)
   * }
   */
  async *integrationLinks(params: AlignIntegrationLinksParams = {}): AsyncGenerator<AlignIntegrationLink, void, undefined> {
    const pageSize = positiveInteger(params.pageSize ?? MAX_PAGE_SIZE, 'pageSize', MAX_PAGE_SIZE)
    let seen = 0
    for (let page = 1; ; page++) {
      const result = await this.listIntegrationLinks({ ...params, page, pageSize })
      for (const link of result.data) yield link
      seen += result.data.length
      if (result.data.length < pageSize || seen >= result.total) return
    }
  }

  /**
   * The Align entity that carries this Illumera externalRef, or null. The sync worker asks this
   * before a create whose earlier response was lost, so it never creates the entity twice.
   *
   * @example
   * const link = await align.findIntegrationLink({ externalType: 'project', externalId: localProjectId })
   * const alignProjectId = link?.entityId ?? (await align.createProject(...)).id
   */
  async findIntegrationLink(
    ref: AlignExternalRefInput,
    options?: AlignRequestOptions,
  ): Promise<AlignIntegrationLink | null> {
    if (typeof ref?.externalId !== 'string' || ref.externalId.length === 0) {
      throw new TypeError('findIntegrationLink: externalId must be a non-empty string')
    }
    const page = await this.listIntegrationLinks({
      page: 1,
      pageSize: MAX_PAGE_SIZE,
      externalType: ref.externalType,
      externalId: ref.externalId,
      signal: options?.signal,
    })
    // Check the filter ourselves too: a server that ignored it must not yield a wrong match.
    return (
      page.data.find(
        (link) =>
          link.externalId === ref.externalId &&
          (link.externalRef == null || link.externalRef.externalType === ref.externalType),
      ) ?? null
    )
  }
}
