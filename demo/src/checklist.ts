// The reference's end-to-end checklist ("End-to-end testing with a real Align sandbox"), extended as the
// issue asks, as steps that each act through the api or in Align (the sandbox plays Align's users) and
// then check the other side. Names are unique per run (the embedded database is kept between runs), and
// reconciliation is scoped to this run's connection, so earlier runs never change this one's outcome.
import type { OrganizationState } from '@illumera/align-sandbox'
import type { AlignSandboxClient, ConnectionView, DiscrepancyView, EngagementView, IllumeraApi, ProjectView, TimeEntryView, UserView } from './clients.js'
import { errorMessage } from './http.js'
import type { Programs } from './programs.js'
import { type Step, waitFor } from './report.js'

export interface ChecklistDeps {
  api: IllumeraApi
  align: AlignSandboxClient
  programs: Programs
  /** Short and unique: names this run's tenant, company, project and user. */
  runId: string
  /** The bound of every wait for the other side (the worker, a webhook). */
  waitTimeoutMs: number
  /** YYYY-MM-DD for the time entries. */
  workDate: string
}

const ENTRY_MINUTES = 90
const ALIGN_ENTRY_MINUTES = 45
const CHANGED_MINUTES = 120

/** What the steps learn, for the steps after them. */
interface RunState {
  adminToken: string
  platformToken: string
  talentToken: string
  orgId: string
  orgKey: string
  projectKey: string
  connection: ConnectionView
  project: ProjectView
  alignProjectId: string
  user: UserView
  alignUserId: string
  engagement: EngagementView
  entry: TimeEntryView
  alignEntryId: string
}

export function buildChecklist(deps: ChecklistDeps): Step[] {
  const { api, align, programs, runId, waitTimeoutMs } = deps
  const tenant = `demo-${runId}`
  const company = `demo-${runId}-co`
  const s = {} as RunState
  const alignState = (): Promise<OrganizationState> => align.state(s.orgId)
  const outboxText = async (): Promise<string> => {
    const c = await api.send<ConnectionView>(200, 'GET', '/api/align/connections', s.adminToken)
    return `the connection's outbox: ${c.outbox.pending} pending, ${c.outbox.processing} processing, ${c.outbox.done} done, ` +
      `${c.outbox.failed} failed${c.lastErrorMessage ? `; last error: ${c.lastErrorMessage}` : ''} (is the sync-worker running?)`
  }
  const illumeraEntry = async (id: string): Promise<TimeEntryView | undefined> =>
    (await api.listTimeEntries(s.adminToken, s.project.id)).find((e) => e.id === id)

  return [
    {
      title: 'set up: an Align organization and keys (sandbox), dev tokens',
      async run() {
        if (!(await align.isSandbox())) throw new Error(`${align.apiBaseUrl} is not the Align sandbox (no /_sandbox control API); the demo plays Align's users through it`)
        const org = await align.createOrg(`Demo ${runId}`)
        s.orgId = org.organizationId
        s.orgKey = org.apiKey
        // A project that already exists in Align, to scope a project key to.
        const existing = await align.align<{ id: string }>(201, 'POST', '/projects', s.orgKey, { name: `Demo ${runId}: an existing Align project`, timeBillingEnabled: true }, `demo-${runId}-existing`)
        s.projectKey = (await align.createKey(s.orgId, { scope: 'project', projectId: existing.id })).apiKey
        ;[s.adminToken, s.platformToken] = await Promise.all([
          programs.devToken({ tenant, company, role: 'company_admin' }),
          programs.devToken({ tenant, company, role: 'platform_admin' }),
        ])
        return `Align org ${s.orgId}; tenant ${tenant}, company ${company}`
      },
    },
    {
      title: 'a project-scoped Align key is rejected',
      async run() {
        const answer = await api.call('POST', '/api/align/connections', s.adminToken, { companyId: company, apiKey: s.projectKey })
        if (answer.status !== 400 || !errorMessage(answer).includes('project-scoped')) {
          throw new Error(`POST /api/align/connections with a project-scoped key answered ${answer.status}: ${errorMessage(answer)} (expected 400 naming the project scope)`)
        }
        const after = await api.call('GET', '/api/align/connections', s.adminToken)
        if (after.status !== 404) throw new Error(`a connection exists after the rejected key (GET /api/align/connections answered ${after.status})`)
        return `400 "${errorMessage(answer)}", nothing stored`
      },
    },
    {
      title: 'connect the company with an org-scoped key',
      async run() {
        const { connection } = await api.send<{ connection: ConnectionView }>(201, 'POST', '/api/align/connections', s.adminToken, { companyId: company, apiKey: s.orgKey })
        if (connection.status !== 'active' || connection.alignOrgId !== s.orgId) throw new Error(`connection is ${connection.status} for org ${connection.alignOrgId}, expected active for ${s.orgId}`)
        s.connection = connection
        const subscription = (await alignState()).webhooks.find((w) => w.destinationUrl === connection.webhookUrl)
        if (!subscription) throw new Error(`Align has no webhook subscription at ${connection.webhookUrl}`)
        return `connection ${connection.id}; Align posts webhooks to ${connection.webhookUrl}`
      },
    },
    {
      title: 'create a project → it appears in Align',
      async run() {
        s.project = await api.send<ProjectView>(201, 'POST', '/api/projects', s.adminToken, {
          name: `Demo ${runId}: records modernisation`, description: 'Created by pnpm demo', timeBillingEnabled: true,
        })
        const alignProject = await waitFor('the project in Align', async () =>
          (await alignState()).projects.find((p) => p.externalRef?.externalId === s.project.id), waitTimeoutMs, outboxText)
        s.alignProjectId = alignProject.id
        return `Align project ${alignProject.id} "${alignProject.name}"`
      },
    },
    {
      title: 'activate it → staffing wiki page in Align',
      async run() {
        await api.send(201, 'POST', `/api/projects/${s.project.id}/slots`, s.adminToken, { roleTitle: 'Data engineer', openings: 2, hourlyRateCents: 15_000 })
        const activated = await api.send<ProjectView>(200, 'POST', `/api/projects/${s.project.id}/activate`, s.adminToken)
        if (activated.status !== 'active') throw new Error(`the project is ${activated.status} after activation`)
        const page = await waitFor('the staffing wiki page in Align', async () =>
          (await alignState()).wikiPages.find((w) => w.projectId === s.alignProjectId), waitTimeoutMs, outboxText)
        return `wiki page "${page.title}"`
      },
    },
    {
      title: 'accept an engagement → user invited and added as member',
      async run() {
        s.user = await api.send<UserView>(201, 'POST', '/api/users', s.adminToken, {
          email: `talent-${runId}@demo.illumera.test`, name: `Dana Demo ${runId}`, title: 'Data engineer',
        })
        const offered = await api.send<EngagementView>(201, 'POST', '/api/engagements', s.adminToken, { projectId: s.project.id, userId: s.user.id, hourlyRateCents: 15_000 })
        s.talentToken = await programs.devToken({ tenant, company, role: 'talent', sub: s.user.id })
        s.engagement = await api.send<EngagementView>(200, 'POST', `/api/engagements/${offered.id}/accept`, s.talentToken)
        if (s.engagement.status !== 'accepted') throw new Error(`the engagement is ${s.engagement.status} after accept`)
        const { alignUser, member } = await waitFor('the user and the project member in Align', async () => {
          const state = await alignState()
          const alignUser = state.users.find((u) => u.externalRef?.externalId === s.user.id)
          const member = alignUser && state.members.find((m) => m.projectId === s.alignProjectId && m.userId === alignUser.id)
          return alignUser && member ? { alignUser, member } : undefined
        }, waitTimeoutMs, outboxText)
        s.alignUserId = alignUser.id
        return `Align user ${alignUser.id} (${alignUser.email}, ${alignUser.status}), member ${member.id}`
      },
    },
    {
      title: 'log and submit a time entry → submitted in Align',
      async run() {
        const logged = await api.send<TimeEntryView>(201, 'POST', '/api/time-entries', s.talentToken, {
          engagementId: s.engagement.id, workDate: deps.workDate, minutes: ENTRY_MINUTES, notes: 'Schema review',
        })
        s.entry = await api.send<TimeEntryView>(200, 'POST', `/api/time-entries/${logged.id}/submit`, s.talentToken)
        const alignEntry = await waitFor('the entry, submitted, in Align', async () =>
          (await alignState()).timeEntries.find((e) => e.externalRef?.externalId === s.entry.id && e.status === 'submitted'), waitTimeoutMs, outboxText)
        s.alignEntryId = alignEntry.id
        return `Align entry ${alignEntry.id}: ${alignEntry.minutes} min, ${alignEntry.status}`
      },
    },
    {
      title: 'approve it in Align → webhook arrives, Illumera shows approved',
      async run() {
        await align.approve(s.alignEntryId)
        const entry = await waitFor('the entry to be approved in Illumera', async () => {
          const entry = await illumeraEntry(s.entry.id)
          return entry?.status === 'approved' ? entry : undefined
        }, waitTimeoutMs, async () => {
          const sent = (await align.deliveries(s.orgId)).filter((d) => d.eventName === 'time.approved')
          return `Illumera shows ${(await illumeraEntry(s.entry.id))?.status}; Align's time.approved deliveries: ${
            sent.map((d) => `${d.status} (${d.attempts.map((a) => a.status ?? a.error).join(', ') || 'no attempt yet'})`).join('; ') || 'none'}`
        })
        const delivery = (await align.deliveries(s.orgId)).find((d) => d.eventName === 'time.approved' && d.status === 'delivered')
        if (!delivery) throw new Error('the entry is approved in Illumera but Align shows no delivered time.approved webhook')
        return `time.approved delivered (${delivery.attempts.length} attempt(s)) → Illumera: ${entry.status}, ${entry.syncStatus}`
      },
    },
    {
      title: 'log an entry directly in Align → imported into Illumera',
      async run() {
        const logged = await align.logTimeEntry(s.orgId, {
          projectId: s.alignProjectId, userId: s.alignUserId, workDate: deps.workDate, minutes: ALIGN_ENTRY_MINUTES, description: 'Logged in Align',
        })
        const imported = await waitFor('the Align entry in Illumera', async () =>
          (await api.listTimeEntries(s.adminToken, s.project.id)).find((e) => e.source === 'align' && e.minutes === ALIGN_ENTRY_MINUTES), waitTimeoutMs, async () => {
          const sent = (await align.deliveries(s.orgId)).filter((d) => d.eventName === 'time.logged' && (d.payload.data as { id?: string }).id === logged.id)
          return `Align's time.logged deliveries for ${logged.id}: ${sent.map((d) => d.status).join(', ') || 'none'}`
        })
        return `Align entry ${logged.id} → Illumera entry ${imported.id} (source ${imported.source}, ${imported.minutes} min, ${imported.status})`
      },
    },
    {
      title: 'run reconciliation → exit 0, nothing found',
      async run() {
        // Everything sent and every webhook answered, so the comparison sees a quiet system.
        await waitFor('the outbox to drain and Align\'s webhooks to be delivered', async () => {
          const c = await api.send<ConnectionView>(200, 'GET', '/api/align/connections', s.adminToken)
          if (c.outbox.failed > 0) throw new Error(`${c.outbox.failed} outbox row(s) failed; last error: ${c.lastErrorMessage}`)
          const busy = c.outbox.pending + c.outbox.processing
          const undelivered = (await align.deliveries(s.orgId)).filter((d) => d.status === 'pending').length
          return busy === 0 && undelivered === 0 ? true : undefined
        }, waitTimeoutMs, outboxText)
        const result = await programs.reconcile(s.connection.id)
        const summary = reconciliationSummary(result.stdout)
        if (result.code !== 0) throw new Error(`reconciliation exited ${result.code} (expected 0): ${summary || result.stderr.trim()}`)
        return summary
      },
    },
    {
      title: 'change a value in Align → reconciliation exit 1, discrepancy',
      async run() {
        await align.editTimeEntry(s.alignEntryId, { minutes: CHANGED_MINUTES })
        const result = await programs.reconcile(s.connection.id)
        const summary = reconciliationSummary(result.stdout)
        if (result.code !== 1) throw new Error(`reconciliation exited ${result.code} (expected 1): ${summary || result.stderr.trim()}`)
        const runId = /\[run ([^\]]+)\]/.exec(summary)?.[1]
        if (!runId) throw new Error(`no run id in the summary line: ${summary}`)
        const { data } = await api.send<{ data: DiscrepancyView[] }>(200, 'GET',
          `/api/admin/align/reconciliation?connectionId=${s.connection.id}&runId=${runId}`, s.platformToken)
        const found = data.find((d) => d.field === 'approved_minutes')
        if (!found || found.illumeraValue !== String(ENTRY_MINUTES) || found.alignValue !== String(CHANGED_MINUTES)) {
          throw new Error(`expected approved_minutes ${ENTRY_MINUTES} vs ${CHANGED_MINUTES}; the run logged: ${JSON.stringify(data)}`)
        }
        return `${found.field}: Illumera ${found.illumeraValue}, Align ${found.alignValue} (${data.length} discrepancy row(s), run ${runId})`
      },
    },
  ]
}

/** The job's one summary line ("reconciliation ok: …"), among its log lines. */
function reconciliationSummary(stdout: string): string {
  return stdout.split('\n').find((line) => line.startsWith('reconciliation ')) ?? ''
}
