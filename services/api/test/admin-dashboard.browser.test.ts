// The sync dashboard in a real headless Chromium (Debian's, driven by playwright-core) against a real
// listening api and database: sign in with a pasted token, see a connection's health (direction, a key due
// for rotation, a backfill's progress) and a dead letter, Retry it from the keyboard, and save
// docs/admin-dashboard.png for the README.
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Database } from '@illumera/db-schema'
import { createAlignConnection, createCompany, createProject, createTenant, useTestDatabase } from '@illumera/test-harness'
import type { Kysely } from 'kysely'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type Principal, type TestApp } from './helpers/app.js'

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium'
const HAVE_CHROMIUM = existsSync(CHROMIUM)
const IN_CI = Boolean(process.env.CI) && process.env.CI !== 'false'
const SCREENSHOT = fileURLToPath(new URL('../../../docs/admin-dashboard.png', import.meta.url))

const t = useTestDatabase()
const platformAdmin: Principal = { tenantId: 'illumera', companyId: 'illumera-ops', role: 'platform_admin', userId: 'ops-1' }
const MIN = 60_000
const DAY = 24 * 60 * MIN

/**
 * One company with a struggling connection: outbound only, its key stored 85 days ago (past the default 80),
 * synced 3 min ago, an Align 503 12 min ago, 9 calls in the last minute, and a backfill of 12 rows started
 * 100 min ago of which two are dead letters and one is pending (the other 9 were delivered and purged). Times
 * are relative to `now`, which the browser's clock is pinned to, so the page (and the screenshot) read the
 * same on every run.
 */
async function seedStrugglingCompany(db: Kysely<Database>, now: number) {
  const tenant = await createTenant(db, { id: 'acme', name: 'Acme' })
  const company = await createCompany(db, tenant.id, { id: 'acme-hq', name: 'Acme HQ' })
  const owner = { tenantId: tenant.id, companyId: company.id }
  const project = await createProject(db, owner, { id: 'proj-brand-refresh', name: 'Brand refresh', status: 'active' })
  const connection = await createAlignConnection(db, owner, {
    align_org_id: 'org-acme', key_last_four: '7f3a', status: 'active', last_sync_at: new Date(now - 3 * MIN),
    last_error_at: new Date(now - 12 * MIN), last_error_message: 'Align answered 503 Service Unavailable (GET /projects/9120)',
    api_key_created_at: new Date(now - 85 * DAY), sync_direction: 'illumera_to_align',
  })
  const syncRun = (kind: 'initial_sync' | 'backfill', total: number, startedAt: Date) => ({
    connection_id: connection.id, tenant_id: tenant.id, company_id: company.id, kind, total, started_at: startedAt,
  })
  // The initial sync finished long ago (its rows are gone); the backfill is the latest run and still going.
  const [, backfill] = await db.insertInto('align_sync_runs').values([
    syncRun('initial_sync', 1204, new Date(now - 85 * DAY)), syncRun('backfill', 12, new Date(now - 100 * MIN)),
  ]).returning('id').execute()
  await db.insertInto('align_rate_budgets').values({
    connection_id: connection.id, grants: Array.from({ length: 9 }, (_, i) => String(Date.now() - (i + 1) * 1000)),
  }).execute()
  const outbox = (localId: string, entity: 'time_entry' | 'project' | 'user', status: 'failed' | 'pending', minutesAgo: number, error: string | null) => ({
    tenant_id: tenant.id, company_id: company.id, connection_id: connection.id, entity_type: entity, local_id: localId, operation: 'upsert' as const,
    payload: null, status, attempts: status === 'failed' ? 8 : 0, error, created_at: new Date(now - minutesAgo * MIN),
    last_attempt_at: status === 'failed' ? new Date(now - (minutesAgo - 30) * MIN) : null, sync_run_id: backfill!.id,
  })
  const [lockedEntry, missingProject] = await db.insertInto('align_sync_outbox').values([
    outbox('te-2026-11-20-maria', 'time_entry', 'failed', 95, 'Align answered 422: workDate 2026-11-20 is in a locked period'),
    outbox(project.id, 'project', 'failed', 70, 'Align answered 404: project 9120 not found'),
    outbox('user-dana', 'user', 'pending', 25, null),
  ]).returning(['id', 'local_id']).execute()
  await db.insertInto('align_webhook_deliveries').values([
    { delivery_id: 'dlv_8f2c41', event_name: 'time.approved', connection_id: connection.id, tenant_id: tenant.id, company_id: company.id, status: 'processed', received_at: new Date(now - 2 * MIN), processed_at: new Date(now - 2 * MIN + 800) },
    { delivery_id: 'dlv_8f2c40', event_name: 'invoice.finalized', connection_id: connection.id, tenant_id: tenant.id, company_id: company.id, status: 'failed', error: 'no invoice links the Align invoice 311', received_at: new Date(now - 7 * MIN) },
  ]).execute()
  const run = await db.insertInto('align_reconciliation_runs').values({
    id: '5e1f0c2a-7d41-4b8e-9a63-0c2d4f6b8e10', started_at: new Date(now - 125 * MIN), finished_at: new Date(now - 125 * MIN + 41_000), outcome: 'discrepancies',
    connections_checked: 1, projects_checked: 14, discrepancies: 1, align_calls: 212,
  }).returning('id').executeTakeFirstOrThrow()
  await db.insertInto('align_reconciliation_log').values({
    tenant_id: tenant.id, project_id: project.id, connection_id: connection.id, run_id: run.id, field: 'approved_minutes',
    illumera_value: '2400', align_value: '2340', detected_at: new Date(now - 124 * MIN),
  }).execute()
  return { company, connection, lockedEntry: lockedEntry!, missingProject: missingProject! }
}

// Reads in the page (this package compiles without the DOM library, so they are expressions).
const focusedId = (page: Page) => page.evaluate<string | undefined>('document.activeElement?.id')

async function outboxStats(page: Page): Promise<Record<string, string>> {
  const [labels, values] = await Promise.all([page.locator('#outbox-stats dt').allTextContents(), page.locator('#outbox-stats dd').allTextContents()])
  return Object.fromEntries(labels.map((label, i) => [label, values[i]!]))
}

describe.skipIf(!HAVE_CHROMIUM && !IN_CI)('admin dashboard in headless Chromium', () => {
  let h: TestApp
  let browser: Browser
  let base: string
  /** Console errors and uncaught exceptions (a CSP violation is a console error). */
  const problems: string[] = []

  beforeAll(async () => {
    if (!HAVE_CHROMIUM) {
      throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH; the dashboard's browser test needs it`)
    }
    h = await createTestApp(t.db)
    base = await h.app.listen({ host: '127.0.0.1', port: 0 })
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  })

  afterAll(async () => {
    await browser?.close()
    await h?.app.close()
  })

  async function openDashboard(now?: number): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light', locale: 'en-US', timezoneId: 'UTC' })
    const page = await context.newPage()
    page.on('console', (message) => { if (message.type() === 'error') problems.push(`console: ${message.text()}`) })
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
    // The console's "Failed to load resource" does not say which; this names the request beside it.
    page.on('response', (response) => {
      if (response.status() >= 500) problems.push(`response: ${response.status()} ${response.request().method()} ${new URL(response.url()).pathname}`)
    })
    if (now !== undefined) await page.clock.setFixedTime(now)
    await page.goto(`${base}/admin`)
    return page
  }

  /** The api's error log lines (why a request answered 500), for a failure's message. */
  const serverErrors = () => `server errors:\n${h.logs.lines.filter((line) => /"level":(50|60)/.test(line)).join('\n') || '(none)'}`

  async function signIn(page: Page, token: string) {
    await page.getByLabel('Token').fill(token)
    await page.getByLabel('Token').press('Enter')
  }

  it('shows the connection and its dead letters; Retry from the keyboard puts one back to pending; saves the screenshot', async () => {
    const now = Math.floor(Date.now() / 1000) * 1000
    const seeded = await seedStrugglingCompany(t.db, now)
    const page = await openDashboard(now)
    await expect.poll(() => focusedId(page)).toBe('token')
    await signIn(page, await h.auth.token(platformAdmin))
    await page.locator('#dashboard[data-loaded="true"]').waitFor()

    const connection = page.locator('#connections-rows tr', { hasText: 'acme-hq' })
    const cells = await connection.locator('th, td').allInnerTexts()
    expect(cells.map((c) => c.replace(/\s+/g, ' ').trim())).toEqual([
      'acme-hq tenant acme org org-acme · key …7f3a key 85 days old — rotate (PATCH /api/align/connections)', 'active', 'Illumera → Align',
      '3 min ago backfill running · started 1 h ago 9/12, failed 2',
      'Align answered 503 Service Unavailable (GET /projects/9120) 12 min ago', '591 of 600', '1', '0', '2', '25 min',
    ])
    expect(await page.locator('#key-rotation').innerText()).toBe(
      '1 connection needs its Align key rotated (acme-hq). Rotate with PATCH /api/align/connections before Align refuses the key.')
    // Delivered or dead-lettered rows fill the bar; its name says whose run it is.
    const progress = page.getByRole('progressbar', { name: 'backfill progress of acme-hq' })
    expect([await progress.getAttribute('value'), await progress.getAttribute('max'), await progress.getAttribute('aria-valuetext')])
      .toEqual(['11', '12', '9 of 12 done, 2 failed, 1 pending'])
    expect(await outboxStats(page)).toEqual({ Pending: '1', Processing: '0', 'Dead letters': '2', Done: '0', 'Oldest pending': '25 min' })
    expect(await page.locator('#deliveries-rows').innerText()).toContain('no invoice links the Align invoice 311')
    expect(await page.locator('#runs-rows').innerText()).toMatch(/2 h ago\s+41 s\s+discrepancies/)
    expect(await page.locator('#discrepancies-rows').innerText()).toMatch(/approved_minutes\s+2400\s+2340/)
    expect(await page.locator('#updated').innerText()).toBe('Updated just now')

    const deadLetters = page.locator('#dead-letters-rows tr')
    expect(await deadLetters.count()).toBe(2)
    const locked = page.locator(`#dead-letters-rows tr[data-id="${seeded.lockedEntry.id}"]`)
    expect(await locked.locator('td.error-text').innerText()).toBe('Align answered 422: workDate 2026-11-20 is in a locked period')

    // Keyboard only: Tab from the dead letters heading reaches "Retry all", then this row's Retry; Enter presses it.
    await page.locator('#dead-letters-title').focus()
    await page.keyboard.press('Tab')
    expect(await focusedId(page)).toBe('retry-all')
    await page.keyboard.press('Tab')
    expect(await page.evaluate<string | null>("document.activeElement.getAttribute('aria-label')")).toBe('Retry time_entry upsert te-2026-11-20-maria')
    await page.keyboard.press('Enter')

    await locked.waitFor({ state: 'detached' })
    expect(await page.locator('#announce').innerText()).toBe('1 dead letter moved back to pending.')
    expect(await deadLetters.count()).toBe(1)
    expect(await deadLetters.first().getAttribute('data-id')).toBe(seeded.missingProject.id)
    // The pressed button is gone; focus stays in its section rather than falling to the top of the page.
    expect(await focusedId(page)).toBe('dead-letters-title')
    const row = await t.db.selectFrom('align_sync_outbox').selectAll().where('id', '=', seeded.lockedEntry.id).executeTakeFirstOrThrow()
    expect(row).toMatchObject({ status: 'pending', attempts: 0, error: null })
    const untouched = await t.db.selectFrom('align_sync_outbox').select('status').where('id', '=', seeded.missingProject.id).executeTakeFirstOrThrow()
    expect(untouched.status).toBe('failed')
    expect(await outboxStats(page)).toEqual({ Pending: '2', Processing: '0', 'Dead letters': '1', Done: '0', 'Oldest pending': '1 h' })
    // The retried row is the backfill's again: pending, not failed.
    expect(await connection.locator('.run-figures').innerText()).toBe('9/12, failed 1')
    expect(await progress.getAttribute('aria-valuetext')).toBe('9 of 12 done, 1 failed, 2 pending')

    await page.evaluate('document.activeElement?.blur()')
    await mkdir(path.dirname(SCREENSHOT), { recursive: true })
    await page.screenshot({ path: SCREENSHOT, fullPage: true })
    expect(existsSync(SCREENSHOT)).toBe(true)
    expect(problems, serverErrors()).toEqual([])
    await page.context().close()
  })

  it('shows an Align error that carries HTML as text, picks up new dead letters live, and sends a wrong token back to the form', async () => {
    const tenant = await createTenant(t.db, { id: 'globex', name: 'Globex' })
    const company = await createCompany(t.db, tenant.id, { id: 'globex-hq', name: 'Globex HQ' })
    const connection = await createAlignConnection(t.db, { tenantId: tenant.id, companyId: company.id }, { align_org_id: 'org-globex' })
    // Its initial sync is done: 39 rows delivered (and purged), one dead letter.
    const initial = await t.db.insertInto('align_sync_runs').values({
      connection_id: connection.id, tenant_id: tenant.id, company_id: company.id, kind: 'initial_sync', total: 40,
    }).returning('id').executeTakeFirstOrThrow()
    await t.db.insertInto('align_sync_outbox').values({
      tenant_id: tenant.id, company_id: company.id, connection_id: connection.id, entity_type: 'project', local_id: 'proj-globex-1',
      operation: 'upsert', payload: null, status: 'failed', attempts: 8, error: 'Align answered 409', sync_run_id: initial.id,
    }).execute()
    // A disconnected connection's old key is never used again: no rotation warning for it.
    const initech = await createCompany(t.db, tenant.id, { id: 'initech', name: 'Initech' })
    await createAlignConnection(t.db, { tenantId: tenant.id, companyId: initech.id }, {
      align_org_id: 'org-initech', status: 'disconnected', api_key_created_at: new Date(Date.now() - 200 * DAY), sync_direction: 'align_to_illumera',
    })
    const page = await openDashboard()

    await signIn(page, await h.auth.token({ tenantId: tenant.id, companyId: company.id, role: 'company_admin' }))
    await page.locator('#sign-in-error').waitFor()
    expect(await page.locator('#sign-in-error').innerText()).toBe(
      'This token may not open the dashboard (role company_admin may not do this (allowed: platform_admin)). Sign in with a platform_admin token.')
    expect(await page.locator('#dashboard').isHidden()).toBe(true)
    expect(await page.evaluate('sessionStorage.length')).toBe(0)

    await signIn(page, 'not-a-token')
    await expect.poll(() => page.locator('#sign-in-error').innerText()).toBe('The token was refused (the token is invalid). Paste a fresh platform_admin token.')

    await signIn(page, `Bearer ${await h.auth.token(platformAdmin)}`)
    await page.locator('#dashboard[data-loaded="true"]').waitFor()
    const before = await page.locator('#dead-letters-rows tr').count()
    const cellsOf = async (companyId: string) => (await page.locator('#connections-rows tr', { hasText: companyId }).locator('th, td').allInnerTexts())
      .slice(0, 4).map((c) => c.replace(/\s+/g, ' ').trim())
    // A completed run: one line, no progress bar.
    expect(await cellsOf('globex-hq')).toEqual(['globex-hq tenant globex org org-globex · key …abcd key 0 days old', 'active', 'both ways', 'never initial sync complete (40 items, 1 failed)'])
    expect(await page.locator('#connections-rows tr', { hasText: 'globex-hq' }).locator('progress').count()).toBe(0)
    expect(await cellsOf('initech')).toEqual(['initech tenant globex org org-initech · key …abcd key 200 days old', 'disconnected', 'Align → Illumera', 'never'])
    expect(await page.locator('#connections-rows tr', { hasText: 'initech' }).locator('.badge-warn').count()).toBe(0)
    expect(await page.locator('#key-rotation').innerText()).not.toContain('initech')

    // Written while the page is open: the next automatic refresh (every 5 s) shows it, no click needed.
    const payload = '<img src=x onerror="window.__xss = 1"><b>bold</b>'
    const inserted = await t.db.insertInto('align_sync_outbox').values({
      tenant_id: connection.tenant_id, company_id: connection.company_id, connection_id: connection.id, entity_type: 'wiki_page', local_id: 'wiki-xss',
      operation: 'upsert', payload: null, status: 'failed', attempts: 8, error: payload,
    }).returning('id').executeTakeFirstOrThrow()
    const row = page.locator(`#dead-letters-rows tr[data-id="${inserted.id}"]`)
    await row.waitFor({ timeout: 12_000 })
    expect(await page.locator('#dead-letters-rows tr').count()).toBe(before + 1)
    expect(await row.locator('td.error-text').textContent()).toBe(payload)
    expect(await page.locator('#dashboard img, #dashboard b').count()).toBe(0)
    expect(await page.evaluate('window.__xss')).toBeUndefined()

    await page.getByRole('button', { name: 'Sign out' }).click()
    expect(await page.locator('#sign-in').isVisible()).toBe(true)
    expect(await page.locator('#sign-in-error').innerText()).toBe('Signed out.')
    expect(await page.evaluate('sessionStorage.length')).toBe(0)
    expect(await page.locator('#dashboard tbody tr').count()).toBe(0)
    expect(await page.locator('#key-rotation').isHidden()).toBe(true)
    expect(await focusedId(page)).toBe('token')
    // The 401 and 403 answers of the wrong tokens show up as failed resource loads; nothing else may.
    expect(problems.filter((p) => !/status of 40[13]/.test(p)), serverErrors()).toEqual([])
    await page.context().close()
  })
})
