// The dashboard's browser script, kept as a string so it ships in dist with no build step or bundler.
// Plain ES2022 in a module script: it reads the platform-admin JSON routes with the pasted token and
// redraws every few seconds. Server data reaches the page only through text nodes and attributes set
// one by one (never innerHTML): error messages come from Align and are untrusted. The page's CSP also
// requires Trusted Types, so an HTML string sink would throw instead of rendering.

/** Where the admin JSON routes live (app.ts registers adminRoutes at /api + /admin/align). */
export const ADMIN_API_PREFIX = '/api/admin/align'

/** Every read one refresh makes, relative to ADMIN_API_PREFIX. Tests check each needs platform_admin. */
export const DASHBOARD_READS = {
  connections: '/connections?limit=200',
  outboxSummary: '/outbox/summary',
  deadLetters: '/outbox?status=failed&limit=100',
  deliveries: '/deliveries?limit=20',
  runs: '/reconciliation/runs?limit=10',
  discrepancies: '/reconciliation?limit=20',
} as const

/** The one write: dead letters back to pending. */
export const DASHBOARD_RETRY_PATH = '/sync/retry-failed'

export const REFRESH_EVERY_MS = 5_000

const config = JSON.stringify({ api: ADMIN_API_PREFIX, reads: DASHBOARD_READS, retryPath: DASHBOARD_RETRY_PATH, refreshEveryMs: REFRESH_EVERY_MS })

export const DASHBOARD_JS = String.raw`// Illumera admin: Align sync dashboard. Served by the api; see services/api/src/admin-dashboard/.
const CONFIG = ${config}
const TOKEN_KEY = 'illumera.admin.token'

const byId = (id) => document.getElementById(id)
// chain: refreshes run one after another, so one asked for after a retry always reads after it.
const state = { updatedAt: null, chain: Promise.resolve(), queued: 0, timers: [] }

class AuthError extends Error {
  constructor(status, message) {
    super(message)
    this.status = status
  }
}

// ── HTTP ──────────────────────────────────────────────────────────────────────────────────────────

async function api(path, init = {}) {
  const headers = { authorization: 'Bearer ' + sessionStorage.getItem(TOKEN_KEY), accept: 'application/json' }
  if (init.body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(CONFIG.api + path, { ...init, headers, cache: 'no-store' })
  const body = await res.json().catch(() => null)
  const message = body && typeof body.message === 'string' ? body.message : res.status + ' ' + res.statusText
  if (res.status === 401 || res.status === 403) throw new AuthError(res.status, message)
  if (!res.ok) throw new Error(message)
  return body
}

// ── DOM building: text only ───────────────────────────────────────────────────────────────────────

function h(tag, attrs, ...children) {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue
    if (key === 'class') node.className = value
    else if (key === 'onclick') node.addEventListener('click', value)
    else node.setAttribute(key, value === true ? '' : String(value))
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue
    node.append(child instanceof Node ? child : String(child))
  }
  return node
}

const sub = (...children) => h('span', { class: 'sub' }, ...children)

// ── Humane times ──────────────────────────────────────────────────────────────────────────────────

function span(ms) {
  const s = Math.floor(ms / 1000)
  if (s < 60) return s + ' s'
  const m = Math.floor(s / 60)
  if (m < 60) return m + ' min'
  const hours = Math.floor(m / 60)
  if (hours < 48) return hours + ' h'
  return Math.floor(hours / 24) + ' d'
}

function relative(iso) {
  const ms = Date.now() - Date.parse(iso)
  if (Math.abs(ms) < 10_000) return 'just now'
  return ms > 0 ? span(ms) + ' ago' : 'in ' + span(-ms)
}

/** A <time> saying "3 min ago", exact time on hover; the fallback text when there is no time. */
function when(iso, fallback = '—') {
  if (!iso) return h('span', { class: 'muted' }, fallback)
  return h('time', { datetime: iso, title: new Date(iso).toLocaleString() }, relative(iso))
}

function age(iso) {
  if (!iso) return h('span', { class: 'muted' }, 'none pending')
  return h('time', { datetime: iso, title: 'since ' + new Date(iso).toLocaleString() }, span(Math.max(0, Date.now() - Date.parse(iso))))
}

function badge(value, tone) {
  return h('span', { class: 'badge badge-' + (tone || value) }, value)
}

const count = (n) => n.toLocaleString()

// ── Sections ──────────────────────────────────────────────────────────────────────────────────────

/** Fills a section's table, or shows its empty state; "more" says the list was cut at its limit. */
function fill(name, page, row) {
  const rows = page.data.map(row)
  byId(name + '-rows').replaceChildren(...rows)
  byId(name + '-table').hidden = rows.length === 0
  byId(name + '-empty').hidden = rows.length !== 0
  byId(name + '-count').textContent = rows.length === 0 ? '' : page.nextCursor ? count(rows.length) + '+' : count(rows.length)
  const more = byId(name + '-more')
  if (more) more.hidden = !page.nextCursor
}

const DIRECTIONS = { illumera_to_align: 'Illumera → Align', align_to_illumera: 'Align → Illumera', bidirectional: 'both ways' }
const RUN_KINDS = { initial_sync: 'initial sync', backfill: 'backfill', resync: 'resync' }

const days = (n) => n + (n === 1 ? ' day' : ' days')

/** A disconnected connection's key is no longer used, so only live ones are asked to rotate (as in /metrics). */
const needsRotation = (c) => c.status !== 'disconnected' && c.keyAge.needsRotation

/** The key's age; past the threshold, a warning that says how to rotate it. */
function keyAge(c) {
  const { days: age, thresholdDays } = c.keyAge
  if (!needsRotation(c)) return sub(h('span', { title: 'flagged for rotation after ' + days(thresholdDays) }, 'key ' + days(age) + ' old'))
  return h('span', { class: 'badge badge-warn badge-wide', title: 'older than ' + days(thresholdDays) + '; such keys commonly expire at 90 days' },
    'key ' + days(age) + ' old — rotate (PATCH /api/align/connections)')
}

/** A bulk sync run still going: a labelled <progress> and "done/total, failed N". */
function runProgress(run, companyId) {
  const kind = RUN_KINDS[run.kind] || run.kind
  return h('div', { class: 'run' },
    h('span', { class: 'run-head' }, kind + ' running', ' · started ', when(run.startedAt)),
    // The bar fills as rows leave the queue (delivered or dead-lettered); the text says which.
    h('progress', {
      max: Math.max(run.total, 1), value: run.done + run.failed, 'aria-label': kind + ' progress of ' + companyId,
      'aria-valuetext': run.done + ' of ' + run.total + ' done, ' + run.failed + ' failed, ' + run.pending + ' pending',
    }),
    h('span', { class: 'run-figures' }, count(run.done) + '/' + count(run.total) + ', ', run.failed > 0 ? h('strong', { class: 'bad' }, 'failed ' + count(run.failed)) : 'failed 0'),
  )
}

/**
 * The connection's bulk sync runs: the progress of each one still running (the initial sync and a later
 * backfill or resync may overlap), else a one-line summary of the latest when it is the initial sync.
 */
function syncRuns(c) {
  const runs = [c.latestSyncRun, c.initialSync].filter((run, i, all) => run && all.findIndex((r) => r && r.id === run.id) === i)
  const running = runs.filter((run) => !run.completed)
  if (running.length > 0) return running.map((run) => runProgress(run, c.companyId))
  const latest = c.latestSyncRun
  if (!latest || latest.kind !== 'initial_sync') return null
  return sub('initial sync complete (' + count(latest.total) + (latest.total === 1 ? ' item, ' : ' items, '),
    latest.failed > 0 ? h('span', { class: 'bad' }, count(latest.failed) + ' failed') : '0 failed', ')')
}

function connectionRow(c) {
  const paused = c.pausedUntil && Date.parse(c.pausedUntil) > Date.now()
  const budget = c.rateBudget
  return h('tr', { class: needsRotation(c) ? 'row-warn' : null },
    h('th', { scope: 'row' }, c.companyId, sub('tenant ' + c.tenantId), sub('org ' + c.alignOrgId + ' · key …' + c.keyLastFour), keyAge(c)),
    h('td', {}, badge(c.status)),
    h('td', {}, h('span', { class: 'direction', title: c.syncDirection }, DIRECTIONS[c.syncDirection] || c.syncDirection)),
    h('td', {}, when(c.lastSyncAt, 'never'), syncRuns(c)),
    h('td', {}, c.lastErrorMessage ? [h('span', { class: 'error-text' }, c.lastErrorMessage), sub(when(c.lastErrorAt))] : h('span', { class: 'muted' }, 'none')),
    h('td', { class: 'num' },
      h('span', { title: budget.usedLastMinute + ' calls in the last minute' }, count(budget.remaining) + ' of ' + count(budget.limitPerMinute)),
      paused ? sub(badge('paused', 'warn'), ' until ', when(c.pausedUntil)) : null),
    h('td', { class: 'num' }, count(c.outbox.pending)),
    h('td', { class: 'num' }, count(c.outbox.processing)),
    h('td', { class: 'num' }, c.outbox.failed > 0 ? h('strong', { class: 'bad' }, count(c.outbox.failed)) : '0'),
    h('td', {}, age(c.oldestPendingAt)),
  )
}

function renderOutboxSummary(summary) {
  const stats = [
    ['Pending', count(summary.counts.pending)],
    ['Processing', count(summary.counts.processing)],
    ['Dead letters', count(summary.counts.failed)],
    ['Done', count(summary.counts.done)],
    ['Oldest pending', age(summary.oldestPendingAt)],
  ]
  byId('outbox-stats').replaceChildren(...stats.map(([label, value]) =>
    h('div', { class: 'stat' + (label === 'Dead letters' && summary.counts.failed > 0 ? ' stat-bad' : '') }, h('dt', {}, label), h('dd', {}, value))))
}

function deadLetterRow(r) {
  const button = h('button', { type: 'button', class: 'retry', 'data-focus-key': 'retry:' + r.id, 'aria-label': 'Retry ' + r.entityType + ' ' + r.operation + ' ' + r.localId }, 'Retry')
  button.addEventListener('click', () => retry([r.id], button))
  return h('tr', { 'data-id': r.id },
    h('th', { scope: 'row' }, r.entityType + ' ' + r.operation, sub(h('code', {}, r.localId))),
    h('td', {}, r.companyId, sub('tenant ' + r.tenantId)),
    h('td', { class: 'num' }, String(r.attempts)),
    h('td', {}, when(r.lastAttemptAt, 'never')),
    h('td', { class: 'error-text' }, r.error === null ? h('span', { class: 'muted' }, 'no error recorded') : r.error),
    h('td', {}, button),
  )
}

function deliveryRow(d) {
  const tone = d.status === 'processed' ? 'ok' : d.status === 'failed' ? 'bad' : 'warn'
  return h('tr', {},
    h('th', { scope: 'row' }, when(d.receivedAt)),
    h('td', {}, h('code', {}, d.eventName), sub(h('code', {}, d.deliveryId))),
    h('td', {}, d.companyId ?? h('span', { class: 'muted' }, 'unknown'), d.tenantId ? sub('tenant ' + d.tenantId) : null),
    h('td', {}, badge(d.status, tone), d.processedAt ? sub(when(d.processedAt)) : null),
    h('td', { class: 'error-text' }, d.error ?? ''),
  )
}

function runRow(r) {
  const tone = { ok: 'ok', discrepancies: 'warn', incomplete: 'warn', failed: 'bad' }[r.outcome] || 'muted'
  return h('tr', {},
    h('th', { scope: 'row' }, when(r.startedAt)),
    h('td', {}, r.finishedAt ? span(Date.parse(r.finishedAt) - Date.parse(r.startedAt)) : h('span', { class: 'muted' }, 'not finished')),
    h('td', {}, badge(r.outcome ?? 'running', tone)),
    h('td', { class: 'num' }, count(r.connectionsChecked), r.connectionsIncomplete ? sub(count(r.connectionsIncomplete) + ' incomplete') : null),
    h('td', { class: 'num' }, count(r.projectsChecked)),
    h('td', { class: 'num' }, r.discrepancies > 0 ? h('strong', { class: 'bad' }, count(r.discrepancies)) : '0'),
    h('td', { class: 'num' }, count(r.alignCalls)),
    h('td', { class: 'error-text' }, r.error ?? ''),
  )
}

function discrepancyRow(d) {
  return h('tr', {},
    h('th', { scope: 'row' }, when(d.detectedAt)),
    h('td', {}, d.projectId ? h('code', {}, d.projectId) : h('span', { class: 'muted' }, '—'), sub('tenant ' + d.tenantId)),
    h('td', {}, h('code', {}, d.field)),
    h('td', { class: 'num' }, d.illumeraValue ?? h('span', { class: 'muted' }, 'none')),
    h('td', { class: 'num' }, d.alignValue ?? h('span', { class: 'muted' }, 'none')),
    h('td', {}, d.runId ? h('code', { title: d.runId }, d.runId.slice(0, 8)) : h('span', { class: 'muted' }, '—')),
  )
}

/** The banner at the top: how many connections need their Align key rotated, and which. */
function renderKeyRotation(connections) {
  const due = connections.filter(needsRotation)
  const banner = byId('key-rotation')
  banner.hidden = due.length === 0
  if (due.length === 0) return banner.replaceChildren()
  const names = due.slice(0, 3).map((c) => c.companyId).join(', ') + (due.length > 3 ? ' and ' + count(due.length - 3) + ' more' : '')
  banner.replaceChildren(
    h('strong', {}, due.length === 1 ? '1 connection needs its Align key rotated' : count(due.length) + ' connections need their Align key rotated'),
    ' (' + names + '). Rotate with PATCH /api/align/connections before Align refuses the key.',
  )
}

function render(data) {
  renderKeyRotation(data.connections.data)
  fill('connections', data.connections, connectionRow)
  renderOutboxSummary(data.outboxSummary)
  fill('dead-letters', data.deadLetters, deadLetterRow)
  const retryAll = byId('retry-all')
  retryAll.hidden = data.deadLetters.data.length < 2
  retryAll.disabled = false
  retryAll.textContent = 'Retry all ' + data.deadLetters.data.length + ' shown'
  retryAll.dataset.ids = JSON.stringify(data.deadLetters.data.map((r) => r.id))
  fill('deliveries', data.deliveries, deliveryRow)
  fill('runs', data.runs, runRow)
  fill('discrepancies', data.discrepancies, discrepancyRow)
}

function focusKeyOf(element) {
  return element && element.dataset ? element.dataset.focusKey : undefined
}

/**
 * Redraws without losing the keyboard user's place: focus returns to the control with the same key (rows
 * are rebuilt on every refresh), or to the dead letters heading when a retried row has gone.
 */
function keepFocus(redraw, key) {
  redraw()
  if (!key) return
  const again = document.querySelector('[data-focus-key="' + CSS.escape(key) + '"]')
  if (again && !again.hidden && !again.disabled) again.focus()
  else if (key.startsWith('retry')) byId('dead-letters-title').focus()
}

// ── Refresh, retry, session ───────────────────────────────────────────────────────────────────────

async function load() {
  const names = Object.keys(CONFIG.reads)
  const pages = await Promise.all(names.map((name) => api(CONFIG.reads[name])))
  return Object.fromEntries(names.map((name, i) => [name, pages[i]]))
}

/** Queues a refresh; focusKey names the control that had focus when it was asked for (see keepFocus). */
function refresh(focusKey) {
  state.queued++
  const run = state.chain.then(() => refreshOnce(focusKey)).finally(() => { state.queued-- })
  state.chain = run
  return run
}

async function refreshOnce(focusKey) {
  if (!sessionStorage.getItem(TOKEN_KEY)) return
  byId('dashboard').setAttribute('aria-busy', 'true')
  try {
    const data = await load()
    if (!sessionStorage.getItem(TOKEN_KEY)) return
    keepFocus(() => render(data), focusKey || focusKeyOf(document.activeElement))
    state.updatedAt = Date.now()
    byId('problem').hidden = true
    byId('dashboard').dataset.loaded = 'true'
    tick()
  } catch (err) {
    if (!signOutOnAuthError(err)) showProblem('Could not refresh: ' + err.message + '. The figures below may be stale; trying again shortly.')
  } finally {
    byId('dashboard').removeAttribute('aria-busy')
  }
}

async function retry(ids, button) {
  // Chrome drops focus from a button that gets disabled; remember it to put the keyboard user back.
  const focusKey = document.activeElement === button ? focusKeyOf(button) : undefined
  const label = button.textContent
  button.disabled = true
  button.textContent = 'Retrying…'
  try {
    const { retried } = await api(CONFIG.retryPath, { method: 'POST', body: JSON.stringify({ ids }) })
    announce(retried === 1 ? '1 dead letter moved back to pending.' : retried + ' dead letters moved back to pending.')
  } catch (err) {
    button.disabled = false
    button.textContent = label
    if (focusKey) button.focus()
    if (!signOutOnAuthError(err)) showProblem('Retry failed: ' + err.message)
    return
  }
  await refresh(focusKey)
}

function tick() {
  const out = byId('updated')
  if (state.updatedAt === null) out.textContent = 'Loading…'
  else {
    const ms = Date.now() - state.updatedAt
    out.textContent = 'Updated ' + (ms < 5000 ? 'just now' : span(ms) + ' ago')
  }
}

function announce(message) {
  byId('announce').textContent = message
}

function showProblem(message) {
  const box = byId('problem')
  box.textContent = message
  box.hidden = false
}

function signOutOnAuthError(err) {
  if (!(err instanceof AuthError)) return false
  signOut(err.status === 403
    ? 'This token may not open the dashboard (' + err.message + '). Sign in with a platform_admin token.'
    : 'The token was refused (' + err.message + '). Paste a fresh platform_admin token.')
  return true
}

function stopTimers() {
  for (const timer of state.timers) clearInterval(timer)
  state.timers = []
}

function showDashboard() {
  byId('sign-in').hidden = true
  byId('session').hidden = false
  byId('dashboard').hidden = false
  state.updatedAt = null
  tick()
  stopTimers()
  state.timers.push(
    setInterval(() => { if (byId('auto').checked && !document.hidden && state.queued === 0) refresh() }, CONFIG.refreshEveryMs),
    setInterval(tick, 1000),
  )
  byId('main').focus()
  return refresh()
}

/** Forgets the token and every figure shown with it, then asks for a token again. */
function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY)
  stopTimers()
  for (const tbody of document.querySelectorAll('#dashboard tbody')) tbody.replaceChildren()
  byId('outbox-stats').replaceChildren()
  byId('key-rotation').replaceChildren()
  byId('key-rotation').hidden = true
  delete byId('dashboard').dataset.loaded
  byId('dashboard').hidden = true
  byId('session').hidden = true
  byId('problem').hidden = true
  announce('')
  byId('sign-in').hidden = false
  const error = byId('sign-in-error')
  error.textContent = message || ''
  error.hidden = !message
  byId('token').focus()
}

byId('sign-in-form').addEventListener('submit', (event) => {
  event.preventDefault()
  const token = byId('token').value.trim().replace(/^Bearer\s+/i, '')
  if (!token) return
  byId('token').value = ''
  byId('sign-in-error').hidden = true
  sessionStorage.setItem(TOKEN_KEY, token)
  showDashboard()
})
byId('sign-out').addEventListener('click', () => signOut('Signed out.'))
byId('refresh').addEventListener('click', () => refresh())
byId('retry-all').addEventListener('click', (event) => retry(JSON.parse(event.currentTarget.dataset.ids || '[]'), event.currentTarget))
document.addEventListener('visibilitychange', () => {
  if (!document.hidden && sessionStorage.getItem(TOKEN_KEY) && byId('auto').checked && state.queued === 0) refresh()
})

if (sessionStorage.getItem(TOKEN_KEY)) showDashboard()
else signOut()
`
