// GET /admin (the sync dashboard's page and assets) and the admin JSON routes it reads, via inject().
// The browser behaviour is in admin-dashboard.browser.test.ts.
import { Script } from 'node:vm'
import { createAlignConnection, useTestDatabase } from '@illumera/test-harness'
import { beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_API_PREFIX, DASHBOARD_READS, DASHBOARD_RETRY_PATH } from '../src/admin-dashboard/client-js.js'
import { createTestApp, type TestApp } from './helpers/app.js'
import { seedCompany } from './helpers/seed.js'

const t = useTestDatabase()
let h: TestApp

beforeAll(async () => {
  h = await createTestApp(t.db)
})

function cspDirectives(header: unknown): Map<string, string[]> {
  expect(typeof header).toBe('string')
  return new Map((header as string).split(';').map((d) => d.trim()).filter(Boolean).map((d) => {
    const [name, ...values] = d.split(/\s+/)
    return [name!, values]
  }))
}

function expectStrictCsp(header: unknown) {
  const csp = cspDirectives(header)
  expect(csp.get('default-src')).toEqual(["'none'"])
  expect(csp.get('script-src')).toEqual(["'self'"])
  expect(csp.get('style-src')).toEqual(["'self'"])
  expect(csp.get('connect-src')).toEqual(["'self'"])
  expect(csp.get('frame-ancestors')).toEqual(["'none'"])
  expect(csp.get('form-action')).toEqual(["'none'"])
  expect(csp.get('base-uri')).toEqual(["'none'"])
  expect(csp.get('require-trusted-types-for')).toEqual(["'script'"])
  expect(String(header)).not.toMatch(/unsafe-|data:|\*/)
}

describe('GET /admin', () => {
  it('serves the page without a token, under a strict CSP, with no inline script or style', async () => {
    for (const url of ['/admin', '/admin/']) {
      const res = await h.app.inject({ method: 'GET', url })
      expect(res.statusCode, url).toBe(200)
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
      expect(res.headers['cache-control']).toBe('no-store')
      expect(res.headers['x-content-type-options']).toBe('nosniff')
      expectStrictCsp(res.headers['content-security-policy'])
      const scripts = [...res.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)]
      expect(scripts).toHaveLength(1)
      expect(scripts[0]![1]).toContain('src="/admin/app.js"')
      expect(scripts[0]![2]).toBe('')
      expect(res.body).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i)
      // Keyboard and screen-reader structure.
      expect(res.body).toContain('<a class="skip-link" href="#main">')
      expect(res.body).toContain('<main id="main" tabindex="-1">')
      expect(res.body).toContain('<th scope="col">Last error</th>')
      expect(res.body).toContain('<th scope="col" class="num">Dead letters</th>')
      expect(res.body).toContain('<th scope="col">Direction</th>')
      expect(res.body).toContain('<p id="key-rotation" class="warning" hidden></p>')
    }
  })

  it('serves every asset the page links to, with its type and the same CSP', async () => {
    const page = await h.app.inject({ method: 'GET', url: '/admin' })
    const linked = [...page.body.matchAll(/(?:src|href)="(\/[^"]+)"/g)].map((m) => m[1]!)
    expect(linked.sort()).toEqual(['/admin/app.css', '/admin/app.js', '/admin/icon.svg'])
    const types: Record<string, string> = { '/admin/app.css': 'text/css; charset=utf-8', '/admin/app.js': 'text/javascript; charset=utf-8', '/admin/icon.svg': 'image/svg+xml' }
    for (const url of linked) {
      const res = await h.app.inject({ method: 'GET', url })
      expect(res.statusCode, url).toBe(200)
      expect(res.headers['content-type'], url).toBe(types[url])
      expect(res.body.length, url).toBeGreaterThan(100)
      expectStrictCsp(res.headers['content-security-policy'])
    }
    const js = (await h.app.inject({ method: 'GET', url: '/admin/app.js' })).body
    // It parses (a slip in the embedded source would otherwise only show in a browser), and has no HTML sink.
    expect(() => new Script(js)).not.toThrow()
    expect(js).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/)
    expect(js).toContain(JSON.stringify(DASHBOARD_READS.deadLetters))
    expect((await h.app.inject({ method: 'GET', url: '/admin/nothing' })).statusCode).toBe(404)
  })

  it('leaves the dashboard out of the OpenAPI document', async () => {
    const doc = (await h.app.inject({ method: 'GET', url: '/api/docs/json' })).json()
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/admin'))).toEqual([])
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining([`${ADMIN_API_PREFIX}/outbox/summary`, `${ADMIN_API_PREFIX}/reconciliation/runs`]))
  })
})

describe('the JSON routes the dashboard uses', () => {
  it('answer 401 without a token, 403 to a company_admin, 200 to a platform_admin', async () => {
    const s = await seedCompany(t.db)
    const platform = await h.headers(s.platform)
    const company = await h.headers(s.admin)
    for (const path of Object.values(DASHBOARD_READS)) {
      const url = ADMIN_API_PREFIX + path
      const anonymous = await h.app.inject({ method: 'GET', url })
      expect(anonymous.statusCode, url).toBe(401)
      expect(anonymous.json().message).toContain('bearer token')
      expect((await h.app.inject({ method: 'GET', url, headers: { authorization: 'Bearer not-a-token' } })).statusCode, url).toBe(401)
      const forbidden = await h.app.inject({ method: 'GET', url, headers: company })
      expect(forbidden.statusCode, url).toBe(403)
      expect(forbidden.json().message).toBe('role company_admin may not do this (allowed: platform_admin)')
      expect((await h.app.inject({ method: 'GET', url, headers: platform })).statusCode, url).toBe(200)
    }
    const retry = ADMIN_API_PREFIX + DASHBOARD_RETRY_PATH
    expect((await h.app.inject({ method: 'POST', url: retry, payload: { ids: ['x'] } })).statusCode).toBe(401)
    expect((await h.app.inject({ method: 'POST', url: retry, headers: company, payload: { ids: ['x'] } })).statusCode).toBe(403)
  })

  it('outbox summary: every row by status, and the oldest pending row', async () => {
    const s = await seedCompany(t.db)
    const connection = await createAlignConnection(t.db, s.owner)
    const headers = await h.headers(s.platform)
    const read = async () => (await h.app.inject({ method: 'GET', url: `${ADMIN_API_PREFIX}/outbox/summary`, headers })).json()
    const before = await read()
    const row = (status: 'pending' | 'processing' | 'done' | 'failed', createdAt: Date, localId: string) => ({
      tenant_id: s.tenant.id, company_id: s.company.id, connection_id: connection.id, entity_type: 'project' as const, local_id: localId,
      operation: 'upsert' as const, payload: null, status, created_at: createdAt,
    })
    const oldest = new Date('2001-02-03T04:05:06.000Z')
    await t.db.insertInto('align_sync_outbox').values([
      row('pending', new Date(), 'p-new'), row('pending', oldest, 'p-old'), row('failed', new Date('2000-01-01T00:00:00Z'), 'p-failed'),
      row('done', new Date('1999-01-01T00:00:00Z'), 'p-done'), row('processing', new Date(), 'p-busy'),
    ]).execute()
    const after = await read()
    expect(after.counts).toEqual({
      pending: before.counts.pending + 2, processing: before.counts.processing + 1, done: before.counts.done + 1, failed: before.counts.failed + 1,
    })
    // Failed and done rows are older still, but only pending rows count as "waiting".
    expect(after.oldestPendingAt).toBe(oldest.toISOString())
  })

  it('connection health: the rate budget left counts only the grants of the last minute', async () => {
    const s = await seedCompany(t.db)
    const busy = await createAlignConnection(t.db, s.owner)
    const other = await seedCompany(t.db)
    const idle = await createAlignConnection(t.db, other.owner)
    const now = Date.now()
    const grants = [now - 5 * 60_000, now - 90_000, now - 30_000, now - 20_000, now - 10_000, now - 1_000].map(String)
    await t.db.insertInto('align_rate_budgets').values({ connection_id: busy.id, grants }).execute()
    const res = await h.app.inject({ method: 'GET', url: `${ADMIN_API_PREFIX}/connections?limit=200`, headers: await h.headers(s.platform) })
    expect(res.statusCode).toBe(200)
    const byId = new Map(res.json().data.map((c: { id: string }) => [c.id, c]))
    expect(byId.get(busy.id)).toMatchObject({ rateBudget: { limitPerMinute: 600, usedLastMinute: 4, remaining: 596 } })
    expect(byId.get(idle.id)).toMatchObject({ rateBudget: { limitPerMinute: 600, usedLastMinute: 0, remaining: 600 } })
  })

  it('reconciliation runs: newest first, a cursor to older ones', async () => {
    const s = await seedCompany(t.db)
    const headers = await h.headers(s.platform)
    const [older, newer] = await t.db.insertInto('align_reconciliation_runs').values([
      { started_at: new Date('2026-11-20T02:00:00Z'), finished_at: new Date('2026-11-20T02:01:00Z'), outcome: 'ok', connections_checked: 3, projects_checked: 40, align_calls: 120 },
      { started_at: new Date('2026-11-21T02:00:00Z'), outcome: 'failed', error: 'Align answered 503', connections_checked: 1 },
    ]).returning('id').execute()
    const first = await h.app.inject({ method: 'GET', url: `${ADMIN_API_PREFIX}/reconciliation/runs?limit=1`, headers })
    expect(first.statusCode).toBe(200)
    expect(first.json().data).toEqual([{
      id: newer!.id, startedAt: '2026-11-21T02:00:00.000Z', finishedAt: null, outcome: 'failed', connectionsChecked: 1, connectionsIncomplete: 0,
      projectsChecked: 0, discrepancies: 0, alignCalls: 0, error: 'Align answered 503',
    }])
    const second = await h.app.inject({ method: 'GET', url: `${ADMIN_API_PREFIX}/reconciliation/runs?limit=1&cursor=${first.json().nextCursor}`, headers })
    expect(second.json().data).toEqual([expect.objectContaining({ id: older!.id, outcome: 'ok', finishedAt: '2026-11-20T02:01:00.000Z', projectsChecked: 40, alignCalls: 120 })])
    expect(second.json().nextCursor).toBeNull()
    const bad = await h.app.inject({ method: 'GET', url: `${ADMIN_API_PREFIX}/reconciliation/runs?limit=0`, headers })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().message).toContain('limit')
  })
})
