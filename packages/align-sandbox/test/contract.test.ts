// The sandbox's answers against the reference's documented examples (Align Integration —
// Developer Reference, section "AlignGateway API"): every documented field is present with the
// same JSON type. Extra fields (externalRef, updatedAt, …) are allowed by the wire contract.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AlignSandbox } from '../src/index.js'
import { call, startSandbox } from './helpers/http.js'

// Copied from the reference; "..." placeholders kept as strings.
const REFERENCE = {
  me: { apiKeyId: '3fa85f64-5717-4562-b3fc-2c963f66afa6', organizationId: '7b1e2c3d-0000-0000-0000-000000000001', scope: 'organization', scopedProjectId: null, permissions: ['read:project', 'write:entry'], createdByUserId: '9a8b7c6d-0000-0000-0000-000000000002', lastUsedAt: '2025-01-15T10:30:00Z' },
  invite: { userId: '9a8b7c6d-0000-0000-0000-000000000002', inviteId: '3fa85f64-5717-4562-b3fc-2c963f66afa6', created: true, status: 'invited' },
  project: { id: '3fa85f64-5717-4562-b3fc-2c963f66afa6', name: 'Federal Data Platform Modernization', description: 'GSA data modernization program', status: 'active', organizationId: '7b1e2c3d-0000-0000-0000-000000000001', clientId: '9a8b7c6d-0000-0000-0000-000000000002', createdAt: '2025-01-01T00:00:00Z' },
  member: { id: '3fa85f64-5717-4562-b3fc-2c963f66afa6', projectId: '7b1e2c3d-0000-0000-0000-000000000001', userId: '9a8b7c6d-0000-0000-0000-000000000002', roleOverride: 'developer', metadata: null, createdAt: '2025-01-01T00:00:00Z' },
  timeEntry: { id: '3fa85f64-5717-4562-b3fc-2c963f66afa6', organizationId: '7b1e2c3d-0000-0000-0000-000000000001', projectId: '9a8b7c6d-0000-0000-0000-000000000002', userId: '3fa85f64-5717-4562-b3fc-2c963f66afa6', workDate: '2025-01-15', hours: '2.5', minutes: 150, description: 'Implemented authentication module', billable: true, status: 'draft', createdAt: '2025-01-15T12:00:00Z' },
  timeSummary: { projectId: '7b1e2c3d-0000-0000-0000-000000000001', totalMinutes: 3600, totalHours: '60.0', billableMinutes: 2400, byStatus: { approved: 3600, submitted: 0 }, byUser: [{ userId: '...', totalMinutes: 3600 }] },
  costSummary: { projectId: '7b1e2c3d-0000-0000-0000-000000000001', currency: 'USD', plannedCost: '50000.00', actualCost: '32500.00', approvedCost: '31000.00', pendingCost: '1500.00' },
  wikiPage: { id: '3fa85f64-5717-4562-b3fc-2c963f66afa6', projectId: '7b1e2c3d-0000-0000-0000-000000000001', title: 'Illumera Staffing Plan', content: '# Illumera Staffing Plan — ...', createdAt: '2025-01-01T00:00:00Z', updatedAt: '2025-01-01T00:00:00Z' },
  webhook: { id: '3fa85f64-5717-4562-b3fc-2c963f66afa6', destinationUrl: 'https://api.illumera.us/api/webhooks/align', eventNames: ['time.approved', 'time.rejected'], enabled: true, description: 'Illumera integration', hmacSecret: 'whsec_abc123...', createdAt: '2025-01-01T00:00:00Z' },
  bulkInvite: { results: [], successCount: 1, failureCount: 0 },
  integrationLinks: { data: [{ id: '...', externalId: '...' }], total: 42 },
}

function jsonType(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  return typeof value
}

/** Paths (a.b, a[].b) where `actual` lacks a documented field or has another JSON type. */
function mismatches(documented: unknown, actual: unknown, path = ''): string[] {
  const expected = jsonType(documented)
  const got = jsonType(actual)
  // A documented null only says the field exists (e.g. scopedProjectId, metadata).
  if (expected === 'null') return actual === undefined ? [`${path}: missing`] : []
  if (expected !== got) return [`${path}: documented ${expected}, got ${got}`]
  if (expected === 'array') {
    const [first] = documented as unknown[]
    return first === undefined ? [] : (actual as unknown[]).flatMap((item) => mismatches(first, item, `${path}[]`))
  }
  if (expected === 'object') {
    return Object.entries(documented as Record<string, unknown>).flatMap(([key, value]) =>
      key in (actual as object) ? mismatches(value, (actual as Record<string, unknown>)[key], path ? `${path}.${key}` : key) : [`${path ? `${path}.` : ''}${key}: missing`],
    )
  }
  return []
}

let sb: AlignSandbox
let key: string
const actual: Record<keyof typeof REFERENCE, unknown> = {} as never

beforeAll(async () => {
  sb = await startSandbox()
  ;({ apiKey: key } = await sb.control.createOrg())
  actual.me = (await call(sb, 'GET', '/me', { key })).body
  const invite = await call(sb, 'POST', '/users/invite', {
    key,
    body: { email: 'alice@example.com', name: 'Alice Smith', role: 'developer', sendInvite: false, externalRef: { provider: 'illumera', externalType: 'user', externalId: 'u-1' } },
  })
  actual.invite = invite.body
  actual.bulkInvite = (await call(sb, 'POST', '/users/bulk-invite', { key, body: { invites: [{ email: 'bob@example.com', name: 'Bob Jones', role: 'developer' }], sendInvite: false } })).body
  const project = await call(sb, 'POST', '/projects', {
    key,
    body: { name: 'Federal Data Platform Modernization', description: 'GSA data modernization program', timeBillingEnabled: true, clientId: 'client-1', externalRef: { provider: 'illumera', externalType: 'project', externalId: 'p-1' } },
  })
  actual.project = project.body
  const projectId = project.body.id
  const userId = invite.body.userId
  actual.member = (await call(sb, 'POST', `/projects/${projectId}/members/${userId}`, { key, body: { roleOverride: 'developer', externalRef: { provider: 'illumera', externalType: 'project_member', externalId: 'e-1' } } })).body
  actual.timeEntry = (
    await call(sb, 'POST', `/projects/${projectId}/time-entries`, {
      key,
      body: { userId, workDate: '2025-01-15', minutes: 150, description: 'Implemented authentication module', billable: true, externalRef: { provider: 'illumera', externalType: 'time_entry', externalId: 't-1' } },
    })
  ).body
  actual.timeSummary = (await call(sb, 'GET', `/projects/${projectId}/time-summary`, { key })).body
  actual.costSummary = (await call(sb, 'GET', `/projects/${projectId}/cost-summary`, { key })).body
  actual.wikiPage = (await call(sb, 'POST', `/projects/${projectId}/wiki-pages`, { key, body: { title: 'Illumera Staffing Plan', content: '# Illumera Staffing Plan', externalRef: { provider: 'illumera', externalType: 'wiki_page', externalId: 'p-1' } } })).body
  actual.webhook = (await call(sb, 'POST', '/webhooks', { key, body: { destinationUrl: 'https://api.illumera.us/api/webhooks/align', eventNames: ['time.approved', 'time.rejected'], description: 'Illumera integration' } })).body
  actual.integrationLinks = (await call(sb, 'GET', '/integration-links?page=1&pageSize=100', { key })).body
})
afterAll(() => sb.close())

describe('responses match the reference examples (field names and JSON types)', () => {
  it.each(Object.keys(REFERENCE) as Array<keyof typeof REFERENCE>)('%s', (name) => {
    expect(mismatches(REFERENCE[name], actual[name])).toEqual([])
  })

  it('the comparison itself catches a missing field and a wrong type', () => {
    expect(mismatches(REFERENCE.timeEntry, { ...(actual.timeEntry as object), hours: 2.5 })).toEqual(['hours: documented string, got number'])
    const { billable: _, ...withoutBillable } = actual.timeEntry as Record<string, unknown>
    expect(mismatches(REFERENCE.timeEntry, withoutBillable)).toEqual(['billable: missing'])
  })

  it('hours, totalHours and money keep the documented formats', () => {
    expect(actual.timeEntry).toMatchObject({ hours: '2.5' })
    expect((actual.timeSummary as { totalHours: string }).totalHours).toBe('2.5')
    for (const value of Object.values(actual.costSummary as Record<string, string>).slice(2)) expect(value).toMatch(/^\d+\.\d{2}$/)
    expect((actual.webhook as { hmacSecret: string }).hmacSecret).toMatch(/^whsec_[0-9a-f]{48}$/)
  })
})
