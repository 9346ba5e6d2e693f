// Every gateway method against the Align sandbox, in the order the sync flows use them.
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  AlignApiError,
  AlignConflictError,
  AlignNotFoundError,
  closeAlignPools,
  verifyAlignWebhook,
  type AlignProject,
  type AlignTimeEntry,
} from '../src/index.js'
import { gatewayFor, localId, newOrgGateway, startSandbox, type Sandbox, type TestGateway } from './helpers/sandbox.js'

let sb: Sandbox
let t: TestGateway
let project: AlignProject
let userId: string
const localProjectId = localId('project')

beforeAll(async () => {
  sb = await startSandbox()
  t = await newOrgGateway(sb)
})

afterAll(async () => {
  await sb?.close()
  await closeAlignPools()
})

function entryInput(minutes: number, externalId = localId('te')) {
  return {
    userId,
    workDate: '2025-01-15',
    minutes,
    description: `work for ${minutes} minutes`,
    billable: true,
    externalRef: { externalType: 'time_entry' as const, externalId },
  }
}

describe('identity and rate-limit information', () => {
  it('getMe returns the organization-scoped identity of the key', async () => {
    const me = await t.gateway.getMe()
    expect(me).toMatchObject({ organizationId: t.organizationId, scope: 'organization', scopedProjectId: null })
    expect(me.apiKeyId).toEqual(expect.any(String))
  })

  it('reports rate-limit headers through lastRateLimit and onResponse, once per attempt, with no secret', async () => {
    const before = t.attempts.length
    await t.gateway.getMe()
    await t.gateway.getMe()
    const [a, b] = t.attempts.slice(before)
    expect(t.attempts.length - before).toBe(2)
    expect(Object.keys(a!).sort()).toEqual(['attempt', 'durationMs', 'method', 'path', 'rateLimit', 'requestId', 'status'])
    expect(a).toMatchObject({ method: 'GET', path: '/me', status: 200, attempt: 1, requestId: expect.stringMatching(/^[0-9a-f-]{36}$/) })
    expect(a!.rateLimit).toMatchObject({ limit: 600 })
    expect(b!.rateLimit!.remaining).toBe(a!.rateLimit!.remaining - 1)
    expect(a!.rateLimit!.resetAt.getTime()).toBeGreaterThan(Date.now() - 1000)
    expect(a!.durationMs).toBeGreaterThanOrEqual(0)
    expect(t.gateway.lastRateLimit).toEqual(b!.rateLimit)
    expect(JSON.stringify(t.attempts)).not.toContain(t.apiKey)
  })

  it('an onResponse hook that throws does not change the outcome', async () => {
    const throwing = gatewayFor(sb, t.apiKey, {
      onResponse: () => {
        throw new Error('logger exploded')
      },
    })
    await expect(throwing.gateway.getMe()).resolves.toMatchObject({ organizationId: t.organizationId })
    expect(throwing.attempts).toHaveLength(1)
  })

  it('closeAlignPools does not strand a gateway made before it', async () => {
    await t.gateway.getMe()
    await closeAlignPools()
    await expect(t.gateway.getMe()).resolves.toMatchObject({ organizationId: t.organizationId })
  })
})

describe('projects and users', () => {
  it('createProject sends the externalRef and returns the project', async () => {
    project = await t.gateway.createProject(
      {
        name: 'Federal Data Platform Modernization',
        description: 'GSA data modernization program',
        timeBillingEnabled: true,
        externalRef: { externalType: 'project', externalId: localProjectId },
      },
      { idempotencyKey: localProjectId },
    )
    expect(project).toMatchObject({
      name: 'Federal Data Platform Modernization',
      description: 'GSA data modernization program',
      status: 'active',
      organizationId: t.organizationId,
      externalRef: { provider: 'illumera', externalType: 'project', externalId: localProjectId },
    })
  })

  it('the same create with the same Idempotency-Key replays instead of duplicating', async () => {
    const again = await t.gateway.createProject(
      {
        name: 'Federal Data Platform Modernization',
        description: 'GSA data modernization program',
        timeBillingEnabled: true,
        externalRef: { externalType: 'project', externalId: localProjectId },
      },
      { idempotencyKey: localProjectId },
    )
    expect(again.id).toBe(project.id)
  })

  it('updateProject changes the given fields only', async () => {
    const updated = await t.gateway.updateProject(project.id, { name: 'FDP Modernization' }, { idempotencyKey: `${localProjectId}:v2` })
    expect(updated).toMatchObject({ id: project.id, name: 'FDP Modernization', description: 'GSA data modernization program' })
    const archived = await t.gateway.updateProject(project.id, { status: 'archived' })
    expect(archived.status).toBe('archived')
    await t.gateway.updateProject(project.id, { status: 'active' })
  })

  it('inviteUser creates a user once; a second invite of the email returns the same user', async () => {
    const localUserId = localId('user')
    const input = {
      email: `${localUserId}@example.com`,
      name: 'Alice Smith',
      role: 'developer',
      sendInvite: false,
      externalRef: { externalType: 'user' as const, externalId: localUserId },
    }
    const first = await t.gateway.inviteUser(input, { idempotencyKey: localUserId })
    expect(first).toMatchObject({ created: true, status: 'invited', userId: expect.any(String), inviteId: expect.any(String) })
    const second = await t.gateway.inviteUser(input, { idempotencyKey: `${localUserId}:again` })
    expect(second).toMatchObject({ created: false, userId: first.userId })
    userId = first.userId
  })

  it('getUser and updateUser', async () => {
    const user = await t.gateway.getUser(userId)
    expect(user).toMatchObject({ id: userId, organizationId: t.organizationId, name: 'Alice Smith', role: 'developer' })
    const updated = await t.gateway.updateUser(userId, { name: 'Alice Smith-Jones' }, { idempotencyKey: localId('user-update') })
    expect(updated).toMatchObject({ id: userId, name: 'Alice Smith-Jones', email: user.email })
    expect((await t.gateway.getUser(userId)).name).toBe('Alice Smith-Jones')
  })

  it('bulkInviteUsers returns one result per invite, in order, and refuses more than 50 before sending', async () => {
    const ids = [localId('bulk'), localId('bulk'), localId('bulk')]
    const result = await t.gateway.bulkInviteUsers(
      {
        invites: ids.map((id) => ({ email: `${id}@example.com`, name: id, role: 'developer', externalRef: { externalType: 'user' as const, externalId: id } })),
        sendInvite: false,
      },
      { idempotencyKey: localId('bulk-batch') },
    )
    expect(result.successCount).toBe(3)
    expect(result.failureCount).toBe(0)
    expect(result.results.map((r) => r.email)).toEqual(ids.map((id) => `${id}@example.com`))

    const before = t.attempts.length
    const tooMany = Array.from({ length: 51 }, (_, i) => ({
      email: `many-${i}@example.com`,
      name: `n${i}`,
      role: 'developer',
      externalRef: { externalType: 'user' as const, externalId: `many-${i}` },
    }))
    await expect(t.gateway.bulkInviteUsers({ invites: tooMany }, { idempotencyKey: 'too-many' })).rejects.toThrow(/at most 50 invites.*got 51/)
    expect(t.attempts.length).toBe(before)
  })
})

describe('members, time entries and summaries', () => {
  let entry: AlignTimeEntry

  it('addProjectMember adds once and returns the existing membership after', async () => {
    const engagementId = localId('engagement')
    const input = { roleOverride: 'developer', externalRef: { externalType: 'project_member' as const, externalId: engagementId } }
    const member = await t.gateway.addProjectMember(project.id, userId, input, { idempotencyKey: engagementId })
    expect(member).toMatchObject({ projectId: project.id, userId, roleOverride: 'developer' })
    const again = await t.gateway.addProjectMember(project.id, userId, input, { idempotencyKey: `${engagementId}:again` })
    expect(again.id).toBe(member.id)
  })

  it('createTimeEntry creates a draft with hours as a decimal string', async () => {
    const input = entryInput(150)
    entry = await t.gateway.createTimeEntry(project.id, input, { idempotencyKey: input.externalRef.externalId })
    expect(entry).toMatchObject({
      projectId: project.id,
      userId,
      organizationId: t.organizationId,
      workDate: '2025-01-15',
      minutes: 150,
      hours: '2.5',
      billable: true,
      status: 'draft',
      externalRef: { provider: 'illumera', externalType: 'time_entry', externalId: input.externalRef.externalId },
    })
  })

  it('updateTimeEntry patches a draft', async () => {
    const updated = await t.gateway.updateTimeEntry(entry.id, { minutes: 90, description: 'Revised estimate' })
    expect(updated).toMatchObject({ id: entry.id, minutes: 90, hours: '1.5', description: 'Revised estimate', status: 'draft' })
  })

  it('submitTimeEntry moves draft to submitted, and a second submit is a conflict', async () => {
    const submitted = await t.gateway.submitTimeEntry(entry.id, { idempotencyKey: `${entry.id}:submit` })
    expect(submitted.status).toBe('submitted')
    const error = await t.gateway.submitTimeEntry(entry.id).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AlignConflictError)
    expect(error).toMatchObject({ status: 409, code: 'invalid_state' })
  })

  it('unlockTimeEntry returns an approved entry to draft', async () => {
    await sb.control.approve(entry.id)
    const unlocked = await t.gateway.unlockTimeEntry(entry.id, { idempotencyKey: `${entry.id}:unlock` })
    expect(unlocked).toMatchObject({ id: entry.id, status: 'draft' })
  })

  it('getTimeSummary and getCostSummary add up the entries', async () => {
    const second = entryInput(30)
    const other = await t.gateway.createTimeEntry(project.id, second, { idempotencyKey: second.externalRef.externalId })
    await t.gateway.submitTimeEntry(other.id)
    await sb.control.approve(other.id)

    const all = await t.gateway.getTimeSummary(project.id)
    expect(all).toMatchObject({ projectId: project.id, totalMinutes: 120, billableMinutes: 120 })
    expect(Number(all.totalHours)).toBe(2)
    expect(all.byStatus).toMatchObject({ draft: 90, approved: 30 })
    expect(all.byUser).toEqual([{ userId, totalMinutes: 120 }])

    const approved = await t.gateway.getTimeSummary(project.id, { status: 'approved' })
    expect(approved.totalMinutes).toBe(30)

    const cost = await t.gateway.getCostSummary(project.id)
    expect(cost).toMatchObject({ projectId: project.id, currency: 'USD' })
    for (const field of ['plannedCost', 'actualCost', 'approvedCost', 'pendingCost'] as const) {
      expect(cost[field]).toMatch(/^\d+\.\d{2}$/)
    }
  })

  it('deleteTimeEntry removes a draft; a second delete fails', async () => {
    const input = entryInput(15)
    const doomed = await t.gateway.createTimeEntry(project.id, input, { idempotencyKey: input.externalRef.externalId })
    await expect(t.gateway.deleteTimeEntry(doomed.id)).resolves.toBeUndefined()
    const again = await t.gateway.deleteTimeEntry(doomed.id).catch((e: unknown) => e)
    expect(again).toBeInstanceOf(AlignApiError)
    expect([404, 409]).toContain((again as AlignApiError).status)
  })
})

describe('wiki pages', () => {
  it('createWikiPage and updateWikiPage', async () => {
    const page = await t.gateway.createWikiPage(
      project.id,
      { title: 'Illumera Staffing Plan', content: '# Staffing\n\n- 2 developers', externalRef: { externalType: 'wiki_page', externalId: localProjectId } },
      { idempotencyKey: `${localProjectId}:wiki` },
    )
    expect(page).toMatchObject({ projectId: project.id, title: 'Illumera Staffing Plan', content: '# Staffing\n\n- 2 developers' })
    const updated = await t.gateway.updateWikiPage(page.id, { content: '# Staffing\n\n- 3 developers' })
    expect(updated).toMatchObject({ id: page.id, title: 'Illumera Staffing Plan', content: '# Staffing\n\n- 3 developers' })
  })
})

describe('integration links', () => {
  it('listIntegrationLinks pages the links and findIntegrationLink finds one by externalRef', async () => {
    const page = await t.gateway.listIntegrationLinks({ page: 1, pageSize: 100 })
    expect(page.total).toBeGreaterThanOrEqual(5)
    expect(page.data.length).toBe(Math.min(100, page.total))

    const found = await t.gateway.findIntegrationLink({ externalType: 'project', externalId: localProjectId })
    expect(found).toMatchObject({ entityId: project.id, externalId: localProjectId })
    const wiki = await t.gateway.findIntegrationLink({ externalType: 'wiki_page', externalId: localProjectId })
    expect(wiki).not.toBeNull()
    expect(wiki!.entityId).not.toBe(project.id)
    expect(await t.gateway.findIntegrationLink({ externalType: 'project', externalId: 'never-synced' })).toBeNull()
  })
})

describe('webhooks', () => {
  it('createWebhook returns the hmacSecret once; deliveries verify with it; deleteWebhook removes it', async () => {
    const received: Array<{ headers: IncomingMessage['headers']; body: Buffer }> = []
    const server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks) })
        res.writeHead(200).end('{}')
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/webhooks/align`
      const sub = await t.gateway.createWebhook(
        { destinationUrl: url, eventNames: ['time.logged', 'time.approved'], description: 'Illumera integration' },
        { idempotencyKey: localId('webhook') },
      )
      expect(sub).toMatchObject({ destinationUrl: url, enabled: true, eventNames: ['time.logged', 'time.approved'] })
      expect(sub.hmacSecret).toMatch(/^whsec_[0-9a-f]{48}$/)

      const input = entryInput(45)
      const logged = await t.gateway.createTimeEntry(project.id, input, { idempotencyKey: input.externalRef.externalId })
      await t.gateway.submitTimeEntry(logged.id)
      await sb.control.approve(logged.id)
      await sb.control.settled()
      expect(received.length).toBeGreaterThanOrEqual(1)
      for (const delivery of received) {
        const result = verifyAlignWebhook({ headers: delivery.headers, rawBody: delivery.body, secrets: [sub.hmacSecret] })
        expect(result).toMatchObject({ ok: true })
      }
      expect(received.map((d) => d.headers['x-align-event'])).toContain('time.approved')

      await expect(t.gateway.deleteWebhook(sub.id)).resolves.toBeUndefined()
      await expect(t.gateway.deleteWebhook(sub.id)).rejects.toBeInstanceOf(AlignNotFoundError)
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})

describe('members, last', () => {
  it('removeProjectMember removes; removing again is a 404', async () => {
    await expect(t.gateway.removeProjectMember(project.id, userId)).resolves.toBeUndefined()
    await expect(t.gateway.removeProjectMember(project.id, userId)).rejects.toBeInstanceOf(AlignNotFoundError)
  })
})
