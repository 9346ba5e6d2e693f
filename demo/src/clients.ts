// The api as a company admin, a talent or a platform admin would call it, and the Align sandbox: its
// Align API (/api/v1, with an API key) and its control API (/_sandbox), which plays Align's users.
import type { Delivery, OrganizationState, TimeEntry as AlignTimeEntry } from '@illumera/align-sandbox'
import type { Dispatcher } from 'undici'
import { answersOk, callJson, expectStatus, type JsonAnswer } from './http.js'

/** The fields of the api's views the demo reads (services/api/src/*-view.ts). */
export interface ConnectionView {
  id: string
  status: string
  alignOrgId: string
  webhookUrl: string | null
  lastErrorMessage: string | null
  outbox: { pending: number; processing: number; done: number; failed: number }
}
export interface ProjectView { id: string; name: string; status: string }
export interface UserView { id: string; email: string; name: string }
export interface EngagementView { id: string; status: string }
export interface TimeEntryView { id: string; projectId: string; minutes: number; status: string; source: string; syncStatus: string }
export interface DiscrepancyView { field: string; illumeraValue: string | null; alignValue: string | null; runId: string | null }
interface Page<T> { data: T[]; nextCursor: string | null }

export class IllumeraApi {
  constructor(readonly baseUrl: string) {}

  call(method: Dispatcher.HttpMethod, path: string, token: string, body?: unknown): Promise<JsonAnswer> {
    return callJson(method, `${this.baseUrl}${path}`, { token, body })
  }

  /** Calls and returns the body when the status is `expected`, else throws naming the call. */
  async send<T>(expected: number, method: Dispatcher.HttpMethod, path: string, token: string, body?: unknown): Promise<T> {
    return expectStatus<T>(await this.call(method, path, token, body), expected, `${method} ${path}`)
  }

  ready(): Promise<boolean> {
    return answersOk(`${this.baseUrl}/readyz`)
  }

  /** Every time entry of a project the token may see (all pages). */
  async listTimeEntries(token: string, projectId: string): Promise<TimeEntryView[]> {
    const entries: TimeEntryView[] = []
    let cursor: string | null = null
    do {
      const query: string = `projectId=${encodeURIComponent(projectId)}&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
      const page: Page<TimeEntryView> = await this.send(200, 'GET', `/api/time-entries?${query}`, token)
      entries.push(...page.data)
      cursor = page.nextCursor
    } while (cursor)
    return entries
  }
}

export class AlignSandboxClient {
  /** http://host:port, the sandbox's own address (Align's API is under /api/v1). */
  readonly origin: string

  constructor(readonly apiBaseUrl: string) {
    this.origin = apiBaseUrl.replace(/\/+$/, '').replace(/\/api\/v1$/, '')
  }

  private async control<T>(expected: number, method: Dispatcher.HttpMethod, path: string, body?: unknown): Promise<T> {
    return expectStatus<T>(await callJson(method, `${this.origin}/_sandbox${path}`, { body }), expected, `sandbox ${method} /_sandbox${path}`)
  }

  /** A call to Align's API with an API key, as Align's own users or integrations make them. */
  async align<T>(expected: number, method: Dispatcher.HttpMethod, path: string, apiKey: string, body: unknown, idempotencyKey: string): Promise<T> {
    const answer = await callJson(method, `${this.apiBaseUrl}${path}`, { token: apiKey, body, headers: { 'idempotency-key': idempotencyKey } })
    return expectStatus<T>(answer, expected, `Align ${method} ${path}`)
  }

  /** True when the control API answers: ALIGN_BASE_URL is the sandbox, not a real Align. */
  isSandbox(): Promise<boolean> {
    return answersOk(`${this.origin}/_sandbox/faults`)
  }

  createOrg(name: string): Promise<{ organizationId: string; apiKey: string }> {
    return this.control(201, 'POST', '/orgs', { name })
  }

  createKey(organizationId: string, input: { scope: 'organization' | 'project'; projectId?: string }): Promise<{ apiKey: string; apiKeyId: string }> {
    return this.control(201, 'POST', `/orgs/${encodeURIComponent(organizationId)}/keys`, input)
  }

  state(organizationId: string): Promise<OrganizationState> {
    return this.control(200, 'GET', `/orgs/${encodeURIComponent(organizationId)}/state`)
  }

  async deliveries(organizationId: string): Promise<Delivery[]> {
    const { data } = await this.control<{ data: Delivery[] }>(200, 'GET', `/deliveries?organizationId=${encodeURIComponent(organizationId)}`)
    return data
  }

  /** A manager approves the entry in Align. */
  approve(timeEntryId: string): Promise<AlignTimeEntry> {
    return this.control(200, 'POST', `/time-entries/${encodeURIComponent(timeEntryId)}/approve`)
  }

  /** A manager edits the entry in Align, whatever its status. */
  editTimeEntry(timeEntryId: string, patch: { minutes?: number; description?: string }): Promise<AlignTimeEntry> {
    return this.control(200, 'PATCH', `/time-entries/${encodeURIComponent(timeEntryId)}`, patch)
  }

  /** Someone logs time directly in Align (no externalRef). */
  logTimeEntry(organizationId: string, input: { projectId: string; userId: string; workDate: string; minutes: number; description?: string }): Promise<AlignTimeEntry> {
    return this.control(201, 'POST', `/orgs/${encodeURIComponent(organizationId)}/time-entries`, input)
  }
}
