// The sandbox's entities as Align exposes them (views) and as it keeps them (records), plus the
// fault settings. Field names follow the reference's AlignGateway section and the wire contract.

export type ExternalType = 'project' | 'user' | 'project_member' | 'time_entry' | 'wiki_page'

export interface ExternalRef {
  provider: string
  externalType: ExternalType
  externalId: string
}

export type KeyScope = 'organization' | 'project'
export type ProjectStatus = 'active' | 'archived'
export type UserStatus = 'invited' | 'active'
export type TimeEntryStatus = 'draft' | 'submitted' | 'approved' | 'rejected' | 'locked' | 'invoiced'

export const TIME_ENTRY_STATUSES: readonly TimeEntryStatus[] = ['draft', 'submitted', 'approved', 'rejected', 'locked', 'invoiced']

/** Every event the reference's webhook catalog lists. */
export const WEBHOOK_EVENT_NAMES = [
  'time.logged',
  'time.submitted',
  'time.approved',
  'time.rejected',
  'time.locked',
  'time.invoiced',
  'time.unlocked',
  'time.deleted',
  'time.updated',
  'project_member.added',
  'project_member.updated',
  'project_member.removed',
  'user.invited',
  'user.linked',
  'user.updated',
  'wiki_page.created',
  'wiki_page.updated',
  'integration_link.created',
  'integration_link.updated',
  'invoice.paid',
  'invoice.finalized',
] as const
export type WebhookEventName = (typeof WEBHOOK_EVENT_NAMES)[number]

export interface Project {
  id: string
  name: string
  description: string | null
  status: ProjectStatus
  organizationId: string
  clientId: string | null
  timeBillingEnabled: boolean
  externalRef: ExternalRef | null
  createdAt: string
  updatedAt: string
}

export interface User {
  id: string
  organizationId: string
  email: string
  name: string
  role: string
  status: UserStatus
  externalRef: ExternalRef | null
  createdAt: string
  updatedAt: string
}

export interface ProjectMember {
  id: string
  projectId: string
  userId: string
  roleOverride: string | null
  metadata: Record<string, unknown> | null
  externalRef: ExternalRef | null
  createdAt: string
}

export interface TimeEntry {
  id: string
  organizationId: string
  projectId: string
  userId: string
  workDate: string
  /** minutes / 60 as a decimal string with one or two decimals, e.g. "2.5", "0.33". */
  hours: string
  minutes: number
  description: string | null
  billable: boolean
  status: TimeEntryStatus
  rejectionReason: string | null
  externalRef: ExternalRef | null
  createdAt: string
  updatedAt: string
}

export interface WikiPage {
  id: string
  projectId: string
  title: string
  content: string
  externalRef: ExternalRef | null
  createdAt: string
  updatedAt: string
}

/** A subscription as listed; `hmacSecret` appears only in the response that created it. */
export interface WebhookSubscription {
  id: string
  destinationUrl: string
  eventNames: string[]
  enabled: boolean
  description: string | null
  createdAt: string
}

export interface CreatedWebhookSubscription extends WebhookSubscription {
  hmacSecret: string
}

/** An Align entity that carries an externalRef. */
export interface IntegrationLink {
  id: string
  entityType: ExternalType
  entityId: string
  externalType: ExternalType
  externalId: string
  externalRef: ExternalRef
  createdAt: string
}

export interface Me {
  apiKeyId: string
  organizationId: string
  scope: KeyScope
  scopedProjectId: string | null
  permissions: string[]
  createdByUserId: string | null
  lastUsedAt: string | null
}

export interface InviteResult {
  userId: string
  inviteId: string
  created: boolean
  status: UserStatus
}

export interface BulkInviteResultItem {
  email: string
  userId?: string
  inviteId?: string
  created?: boolean
  status?: UserStatus
  error?: { code: string; message: string }
}

export interface BulkInviteResult {
  results: BulkInviteResultItem[]
  successCount: number
  failureCount: number
}

export interface TimeSummary {
  projectId: string
  totalMinutes: number
  totalHours: string
  billableMinutes: number
  byStatus: Record<TimeEntryStatus, number>
  byUser: Array<{ userId: string; totalMinutes: number }>
}

export interface CostSummary {
  projectId: string
  currency: 'USD'
  plannedCost: string
  actualCost: string
  approvedCost: string
  pendingCost: string
}

export interface IntegrationLinkPage {
  data: IntegrationLink[]
  total: number
  page: number
  pageSize: number
}

/** A member as the control API shows it: the API's shape plus the rate used by cost-summary. */
export interface MemberState extends ProjectMember {
  hourlyRateCents: number
}

/** GET /_sandbox/orgs/:orgId/state */
/** An invoice a manager makes in Align over a project's locked entries: finalized, then paid. */
export interface AlignInvoice {
  id: string
  organizationId: string
  projectId: string
  status: 'finalized' | 'paid'
  currency: 'USD'
  /** Decimal string, 2 decimals: the entries' minutes × member hourly rates. */
  amount: string
  totalMinutes: number
  timeEntryIds: string[]
  createdAt: string
  finalizedAt: string
  paidAt: string | null
}

export interface OrganizationState {
  organizationId: string
  name: string
  projects: Array<Project & { plannedCostCents: number }>
  users: User[]
  members: MemberState[]
  timeEntries: TimeEntry[]
  wikiPages: WikiPage[]
  invoices: AlignInvoice[]
  integrationLinks: IntegrationLink[]
  webhooks: WebhookSubscription[]
  apiKeys: Array<{ apiKeyId: string; scope: KeyScope; scopedProjectId: string | null; revoked: boolean; createdAt: string }>
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'cancelled'

export interface DeliveryAttempt {
  attempt: number
  at: string
  /** HTTP status of the receiver's answer, or null when it did not answer (refused, timeout). */
  status: number | null
  error: string | null
  durationMs: number
  /** True for an extra copy sent by the duplicateDeliveryRate fault. */
  duplicate: boolean
}

/** One webhook delivery: one event to one subscription, attempted until 2xx or out of retries. */
export interface Delivery {
  id: string
  subscriptionId: string
  organizationId: string
  eventName: WebhookEventName
  destinationUrl: string
  payload: { organizationId: string; data: unknown }
  status: DeliveryStatus
  attempts: DeliveryAttempt[]
  createdAt: string
  deliveredAt: string | null
}

/** Fault injection settings; every field optional in setFaults (merged into the current ones). */
export interface Faults {
  /** Added before each /api/v1 handler runs (after auth, rate limit and idempotency checks). */
  latencyMs: number
  /** Share (0..1) of /api/v1 requests answered with `status` instead of being handled. */
  errorRate: number
  /** Status of injected failures (500–599). */
  status: number
  /** The next N /api/v1 requests fail with `status`. Counts down. */
  failNextRequests: number
  /** Overrides the sandbox's rate limit while set (null: no override). */
  rateLimitPerMinute: number | null
  /** Share (0..1) of successful writes whose connection is destroyed after the write is persisted. */
  dropAfterCommitRate: number
  /** Share (0..1) of successful webhook deliveries sent a second time with the same delivery id. */
  duplicateDeliveryRate: number
  /** Deliveries queued in the same short window go out newest first. */
  reorderDeliveries: boolean
  /** Seed of the random numbers behind the *Rate faults (set it to replay a run). */
  seed: number | null
}

export interface StartAlignSandboxOptions {
  /** 0 picks a free port. Default 4010. */
  port?: number
  /** Default 127.0.0.1. */
  host?: string
  /** Requests per minute per API key, sliding window; null or 0 turns rate limiting off. Default 600. */
  rateLimitPerMinute?: number | null
  /** Delay before each retry of a failed webhook delivery. Default [1000, 5000, 30000, 120000]. */
  webhookRetryDelaysMs?: number[]
  /** A delivery attempt with no answer after this long counts as failed. Default 10000. */
  webhookTimeoutMs?: number
  /** true: pino logging at info to stdout; or a destination stream and level. Default false. */
  logger?: boolean | { stream?: NodeJS.WritableStream; level?: string }
}
