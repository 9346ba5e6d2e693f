// Cross-cutting HTTP behaviour: OpenAPI, security headers, body limit, error shape, admin routes.
import { createAlignConnection, useTestDatabase } from '@illumera/test-harness'
import { beforeAll, describe, expect, it } from 'vitest'
import { securityHeadersOf } from '../src/http/security-headers.js'
import { createTestApp, type TestApp } from './helpers/app.js'
import { outboxRows, seedCompany } from './helpers/seed.js'

const t = useTestDatabase()
let h: TestApp

beforeAll(async () => {
  h = await createTestApp(t.db)
})

describe('http', () => {
  it('serves the OpenAPI document generated from the route schemas', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/docs/json' })
    expect(res.statusCode).toBe(200)
    const doc = res.json()
    expect(doc.openapi).toMatch(/^3\./)
    for (const path of ['/api/projects', '/api/projects/{id}/activate', '/api/time-entries/{id}/unlock', '/api/align/connections', '/api/align/connections/backfill', '/api/admin/align/outbox']) {
      expect(Object.keys(doc.paths)).toContain(path)
    }
    expect(doc.paths['/api/time-entries'].post.requestBody.content['application/json'].schema.properties.minutes).toMatchObject({ minimum: 1, maximum: 1440 })
  })

  it('sends security headers, limits bodies to 1 MiB, and answers unknown routes in the error shape', async () => {
    const s = await seedCompany(t.db)
    const res = await h.app.inject({ method: 'GET', url: '/api/projects', headers: await h.headers(s.admin) })
    expect(res.headers['x-content-type-options']).toBe('nosniff')
    expect(res.headers['strict-transport-security']).toBeDefined()
    expect(res.headers['x-frame-options']).toBe('DENY')
    // JSON: nothing may load or frame it; no header that only an HTML page or an old plug-in reads.
    expect(res.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'")
    expect(res.headers['referrer-policy']).toBe('no-referrer')
    expect(res.headers['cross-origin-resource-policy']).toBe('same-origin')
    for (const htmlOnly of ['cross-origin-opener-policy', 'origin-agent-cluster', 'x-dns-prefetch-control', 'x-download-options', 'x-permitted-cross-domain-policies', 'x-xss-protection']) {
      expect(res.headers[htmlOnly], htmlOnly).toBeUndefined()
    }
    // Error replies carry them too.
    const refused = await h.app.inject({ method: 'POST', url: '/api/time-entries', payload: {} })
    expect(refused.statusCode).toBe(401)
    for (const name of ['x-content-type-options', 'strict-transport-security', 'x-frame-options', 'content-security-policy']) {
      expect(refused.headers[name], name).toBe(res.headers[name])
    }
    const big = await h.app.inject({ method: 'POST', url: '/api/projects', headers: { ...(await h.headers(s.admin)), 'content-type': 'application/json' }, payload: JSON.stringify({ name: 'x', description: 'y'.repeat(1024 * 1024) }) })
    expect(big.statusCode).toBe(413)
    expect(big.json()).toMatchObject({ statusCode: 413, error: 'Payload Too Large' })
    const missing = await h.app.inject({ method: 'GET', url: '/api/nothing' })
    expect(missing.json()).toMatchObject({ statusCode: 404, error: 'Not Found' })
  })
})

describe('securityHeadersOf', () => {
  it("gives helmet's headers for the options once, and refuses a CSP value that needs the request", () => {
    const headers = new Map(securityHeadersOf({ contentSecurityPolicy: { useDefaults: false, directives: { 'default-src': ["'none'"] } } }))
    expect(headers.get('content-security-policy')).toBe("default-src 'none'")
    expect(headers.get('x-content-type-options')).toBe('nosniff')
    expect(() => securityHeadersOf({ contentSecurityPolicy: { directives: { 'script-src': [() => "'nonce-x'"] } } })).toThrow(/script-src is a function/)
  })
})

describe('admin', () => {
  it('lists the outbox with filters and a seq cursor, and resets failed rows (all, by connection, by ids)', async () => {
    const s = await seedCompany(t.db)
    const other = await seedCompany(t.db)
    const c1 = await createAlignConnection(t.db, s.owner)
    const c2 = await createAlignConnection(t.db, other.owner)
    const headers = await h.headers(s.platform)
    const insert = (connection: typeof c1, n: number, status: 'failed' | 'pending') => t.db.insertInto('align_sync_outbox').values(
      Array.from({ length: n }, (_, i) => ({
        tenant_id: connection.tenant_id, company_id: connection.company_id, connection_id: connection.id, entity_type: 'project' as const,
        local_id: `p-${connection.id}-${status}-${i}`, operation: 'upsert' as const, payload: null, status, attempts: 5, error: 'Align said 500',
      })),
    ).execute()
    await insert(c1, 3, 'failed')
    await insert(c1, 2, 'pending')
    await insert(c2, 2, 'failed')

    const page1 = await h.app.inject({ method: 'GET', url: `/api/admin/align/outbox?connectionId=${c1.id}&limit=2`, headers })
    expect(page1.statusCode).toBe(200)
    expect(page1.json().data).toHaveLength(2)
    const page2 = await h.app.inject({ method: 'GET', url: `/api/admin/align/outbox?connectionId=${c1.id}&limit=2&cursor=${page1.json().nextCursor}`, headers })
    const page3 = await h.app.inject({ method: 'GET', url: `/api/admin/align/outbox?connectionId=${c1.id}&limit=2&cursor=${page2.json().nextCursor}`, headers })
    expect([...page1.json().data, ...page2.json().data, ...page3.json().data]).toHaveLength(5)
    expect(page3.json().nextCursor).toBeNull()
    const failed = await h.app.inject({ method: 'GET', url: '/api/admin/align/outbox?status=failed', headers })
    expect(failed.json().data).toHaveLength(5)

    const byIds = await h.app.inject({ method: 'POST', url: '/api/admin/align/sync/retry-failed', headers, payload: { ids: [failed.json().data[0].id] } })
    expect(byIds.json()).toEqual({ retried: 1 })
    const byConnection = await h.app.inject({ method: 'POST', url: '/api/admin/align/sync/retry-failed', headers, payload: { connectionId: c2.id } })
    expect(byConnection.json()).toEqual({ retried: 2 })
    const rest = await h.app.inject({ method: 'POST', url: '/api/admin/align/sync/retry-failed', headers, payload: {} })
    expect(rest.json()).toEqual({ retried: 2 })
    const rows = await outboxRows(t.db)
    expect(rows.filter((r) => r.status === 'failed')).toHaveLength(0)
    expect(rows.filter((r) => r.local_id.includes('failed')).every((r) => r.attempts === 0 && r.error === null && r.status === 'pending')).toBe(true)

    const bad = await h.app.inject({ method: 'POST', url: '/api/admin/align/sync/retry-failed', headers, payload: { ids: [] } })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().message).toContain('ids')
  })

  it('shows connection health, deliveries and reconciliation newest first', async () => {
    const s = await seedCompany(t.db)
    const connection = await createAlignConnection(t.db, s.owner, { key_last_four: 'wxyz' })
    await t.db.insertInto('align_webhook_deliveries').values([
      { delivery_id: `d1-${connection.id}`, event_name: 'time.approved', connection_id: connection.id, tenant_id: s.tenant.id, status: 'processed', received_at: new Date('2026-11-01T00:00:00Z') },
      { delivery_id: `d2-${connection.id}`, event_name: 'time.rejected', connection_id: connection.id, tenant_id: s.tenant.id, status: 'failed', error: 'boom', received_at: new Date('2026-11-02T00:00:00Z') },
    ]).execute()
    await t.db.insertInto('align_reconciliation_log').values({ tenant_id: s.tenant.id, project_id: s.project.id, field: 'approved_minutes', illumera_value: '60', align_value: '90', connection_id: connection.id }).execute()
    const headers = await h.headers(s.platform)

    const deliveries = await h.app.inject({ method: 'GET', url: `/api/admin/align/deliveries?connectionId=${connection.id}&limit=1`, headers })
    expect(deliveries.json().data[0]).toMatchObject({ eventName: 'time.rejected', status: 'failed', error: 'boom' })
    const older = await h.app.inject({ method: 'GET', url: `/api/admin/align/deliveries?connectionId=${connection.id}&limit=1&cursor=${deliveries.json().nextCursor}`, headers })
    expect(older.json().data[0]).toMatchObject({ eventName: 'time.approved' })

    const recon = await h.app.inject({ method: 'GET', url: `/api/admin/align/reconciliation?tenantId=${s.tenant.id}`, headers })
    expect(recon.json().data).toEqual([expect.objectContaining({ field: 'approved_minutes', illumeraValue: '60', alignValue: '90', projectId: s.project.id })])

    const health = await h.app.inject({ method: 'GET', url: '/api/admin/align/connections?status=active&limit=200', headers })
    const mine = health.json().data.find((c: { id: string }) => c.id === connection.id)
    expect(mine).toMatchObject({ keyLastFour: 'wxyz', status: 'active', outbox: { pending: 0, failed: 0 }, oldestPendingAt: null })
    expect(health.body).not.toContain('not-a-real-ciphertext')
  })
})
