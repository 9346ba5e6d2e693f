// The control API in process: what a manager does in Align's UI, plus the sandbox's own knobs.
// The /_sandbox/* routes call these same methods, so both behave alike. Inputs are checked with
// the same schemas as the routes (a bad field is a SandboxError 400 naming it).
import type { TSchema, Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { validationError } from './errors.js'
import type { FaultState } from './faults.js'
import type { IdempotencyStore } from './idempotency.js'
import type { SlidingWindowRateLimiter } from './rate-limiter.js'
import {
  CreateKeyBody,
  EditTimeEntryBody,
  LogTimeEntryBody,
  MemberRateBody,
  PlannedCostBody,
  RejectBody,
  type EditTimeEntryInput,
  type LogTimeEntryInput,
} from './schemas.js'
import type { AlignStore } from './store.js'
import type { AlignInvoice, Delivery, Faults, IntegrationLink, KeyScope, MemberState, OrganizationState, Project, TimeEntry, User, WikiPage } from './types.js'
import type { WebhookDispatcher } from './webhook-dispatcher.js'

/** Checks `value` against `schema`; throws a 400 naming the first bad field. */
export function checkInput<T extends TSchema>(schema: T, value: unknown): Static<T> {
  if (Value.Check(schema, value)) return value
  const first = Value.Errors(schema, value).First()
  const field = first ? first.path.replace(/^\//, '').replace(/\//g, '.') || 'body' : 'body'
  throw validationError(field, `${field}: ${first?.message ?? 'invalid value'}`)
}

export class SandboxControl {
  constructor(
    private readonly store: AlignStore,
    private readonly faultState: FaultState,
    private readonly dispatcher: WebhookDispatcher,
    private readonly idempotency: IdempotencyStore,
    private readonly rateLimiter: SlidingWindowRateLimiter,
  ) {}

  /** A new organization (with an admin user) and an organization-scoped key. */
  async createOrg(options: { name?: string } = {}): Promise<{ organizationId: string; apiKey: string }> {
    return this.store.createOrg(options.name)
  }

  async createKey(organizationId: string, input: { scope: KeyScope; projectId?: string }): Promise<{ apiKey: string; apiKeyId: string }> {
    const { scope, projectId } = checkInput(CreateKeyBody, input)
    return this.store.createKey(organizationId, scope, projectId)
  }

  /** Later requests with this key get 401. */
  async revokeKey(apiKey: string): Promise<void> {
    this.store.revokeKey(apiKey)
  }

  async approve(timeEntryId: string): Promise<TimeEntry> {
    return this.store.approveTimeEntry(timeEntryId)
  }

  async reject(timeEntryId: string, reason: string): Promise<TimeEntry> {
    checkInput(RejectBody, { reason })
    return this.store.rejectTimeEntry(timeEntryId, reason)
  }

  async lock(timeEntryId: string): Promise<TimeEntry> {
    return this.store.lockTimeEntry(timeEntryId)
  }

  async invoice(timeEntryId: string): Promise<TimeEntry> {
    return this.store.invoiceTimeEntry(timeEntryId)
  }

  async unlock(timeEntryId: string): Promise<TimeEntry> {
    return this.store.unlockTimeEntry(null, timeEntryId)
  }

  /** A manager deletes the entry (any status but invoiced); returns it as it was. */
  async delete(timeEntryId: string): Promise<TimeEntry> {
    return this.store.deleteTimeEntry(null, timeEntryId)
  }

  /** A manager deletes a project that holds nothing (409 while it has entries, members or wiki pages). No event. */
  async deleteProject(projectId: string): Promise<Project> {
    return this.store.deleteProject(projectId)
  }

  /** A manager deletes a user of no project and without time entries. No event. */
  async deleteUser(userId: string): Promise<User> {
    return this.store.deleteUser(userId)
  }

  /** A manager deletes a wiki page. No event. */
  async deleteWikiPage(pageId: string): Promise<WikiPage> {
    return this.store.deleteWikiPage(pageId)
  }

  /** Drops an integration link; its entity stays, with externalRef null. */
  async removeIntegrationLink(linkId: string): Promise<IntegrationLink> {
    return this.store.removeIntegrationLink(linkId)
  }

  /** A manager changes an entry in Align, whatever its status (emits time.updated). */
  async editTimeEntry(timeEntryId: string, patch: EditTimeEntryInput): Promise<TimeEntry> {
    return this.store.editTimeEntry(timeEntryId, checkInput(EditTimeEntryBody, patch))
  }

  /** Invoices every locked entry of the project (each emits time.invoiced), then emits invoice.finalized. */
  async finalizeInvoice(projectId: string): Promise<AlignInvoice> {
    return this.store.finalizeInvoice(projectId)
  }

  /** Marks a finalized invoice paid (emits invoice.paid). */
  async payInvoice(invoiceId: string): Promise<AlignInvoice> {
    return this.store.payInvoice(invoiceId)
  }

  /** An entry made directly in Align: emits time.logged with externalRef null. */
  async logTimeEntry(organizationId: string, input: LogTimeEntryInput): Promise<TimeEntry> {
    return this.store.logTimeEntry(organizationId, checkInput(LogTimeEntryBody, input))
  }

  /** The invited user links their Align account: status active, emits user.linked. */
  async activateUser(userId: string): Promise<User> {
    return this.store.activateUser(userId)
  }

  /** Rate used by cost-summary for this member's entries (cents per hour). */
  async setMemberRate(projectId: string, userId: string, hourlyRateCents: number): Promise<MemberState> {
    checkInput(MemberRateBody, { hourlyRateCents })
    return this.store.setMemberRate(projectId, userId, hourlyRateCents)
  }

  /** The project's budget, reported as cost-summary's plannedCost. */
  async setPlannedCost(projectId: string, plannedCostCents: number): Promise<Project & { plannedCostCents: number }> {
    checkInput(PlannedCostBody, { plannedCostCents })
    return this.store.setPlannedCost(projectId, plannedCostCents)
  }

  async state(organizationId: string): Promise<OrganizationState> {
    return this.store.state(organizationId)
  }

  /** Every webhook delivery with its attempts, oldest first (optionally of one organization). */
  async deliveries(organizationId?: string): Promise<Delivery[]> {
    return this.dispatcher.list(organizationId)
  }

  /** Resolves when no webhook delivery is queued, waiting for a retry, or in flight. */
  settled(): Promise<void> {
    return this.dispatcher.settled()
  }

  /** Forgets everything: organizations, keys, idempotency records, rate windows, deliveries, faults. */
  async reset(): Promise<void> {
    this.store.reset()
    this.dispatcher.reset()
    this.idempotency.clear()
    this.rateLimiter.clear()
    this.faultState.clear()
  }

  /** Merges the given faults into the current ones and returns the result. */
  async setFaults(faults: Partial<Faults>): Promise<Faults> {
    return this.faultState.set(faults)
  }

  async clearFaults(): Promise<void> {
    this.faultState.clear()
  }

  async faults(): Promise<Faults> {
    return { ...this.faultState.current }
  }
}
