// The dashboard's page: static structure only (no data, no inline script or style), so it can be served
// to anyone and locked down with a strict CSP. app.js fills the tables from the admin JSON routes.

interface TableSection {
  id: string
  title: string
  /** What the list is, for screen readers. */
  caption: string
  /** Column headings; the first column heads each row (<th scope="row">). */
  columns: string[]
  /** Columns of figures, right-aligned like their cells. */
  numeric?: string[]
  empty: string
  more?: string
  /** Extra controls beside the heading. */
  actions?: string
}

function tableSection(s: TableSection): string {
  const head = s.columns.map((c) => (s.numeric?.includes(c) ? `<th scope="col" class="num">${c}</th>` : `<th scope="col">${c}</th>`)).join('')
  return `
    <section class="card" id="${s.id}" aria-labelledby="${s.id}-title">
      <div class="card-head">
        <h2 id="${s.id}-title" tabindex="-1">${s.title} <span class="count" id="${s.id}-count"></span></h2>
        ${s.actions ?? ''}
      </div>
      <p class="empty" id="${s.id}-empty" hidden>${s.empty}</p>
      <div class="table-wrap">
        <table id="${s.id}-table" hidden>
          <caption class="visually-hidden">${s.caption}</caption>
          <thead><tr>${head}</tr></thead>
          <tbody id="${s.id}-rows"></tbody>
        </table>
      </div>
      ${s.more ? `<p class="more" id="${s.id}-more" hidden>${s.more}</p>` : ''}
    </section>`
}

const SECTIONS = {
  connections: tableSection({
    id: 'connections', title: 'Connections', caption: 'Health of each Align connection',
    columns: ['Company', 'Status', 'Direction', 'Last sync', 'Last error', 'Rate budget left', 'Pending', 'Processing', 'Dead letters', 'Oldest pending'],
    numeric: ['Rate budget left', 'Pending', 'Processing', 'Dead letters'],
    empty: 'No Align connections yet.', more: 'Showing the first 200 connections.',
  }),
  deadLetters: tableSection({
    id: 'dead-letters', title: 'Dead letters', caption: 'Outbox rows that ran out of attempts',
    columns: ['Change', 'Company', 'Attempts', 'Last attempt', 'Error', '<span class="visually-hidden">Action</span>'],
    numeric: ['Attempts'],
    empty: 'No dead letters: every change either reached Align or is still being tried.',
    more: 'Showing the oldest 100 dead letters; retry these to see more.',
    actions: '<button type="button" id="retry-all" class="secondary" data-focus-key="retry-all" hidden>Retry all shown</button>',
  }),
  deliveries: tableSection({
    id: 'deliveries', title: 'Recent webhook deliveries', caption: 'Webhook deliveries from Align, newest first',
    columns: ['Received', 'Event', 'Company', 'Outcome', 'Error'],
    empty: 'No webhook deliveries received yet.', more: 'Showing the newest 20.',
  }),
  runs: tableSection({
    id: 'runs', title: 'Reconciliation runs', caption: 'Reconciliation runs, newest first',
    columns: ['Started', 'Took', 'Outcome', 'Connections', 'Projects', 'Discrepancies', 'Align calls', 'Error'],
    numeric: ['Connections', 'Projects', 'Discrepancies', 'Align calls'],
    empty: 'No reconciliation runs yet.', more: 'Showing the newest 10.',
  }),
  discrepancies: tableSection({
    id: 'discrepancies', title: 'Discrepancies', caption: 'Differences reconciliation found between Illumera and Align, newest first',
    columns: ['Detected', 'Project', 'Field', 'Illumera', 'Align', 'Run'],
    numeric: ['Illumera', 'Align'],
    empty: 'No discrepancies found.', more: 'Showing the newest 20.',
  }),
}

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="referrer" content="no-referrer">
  <title>Align sync · Illumera admin</title>
  <link rel="icon" href="/admin/icon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="/admin/app.css">
  <script type="module" src="/admin/app.js"></script>
</head>
<body>
  <a class="skip-link" href="#main">Skip to content</a>
  <header class="bar">
    <h1>Align sync <span class="muted">· Illumera admin</span></h1>
    <div class="bar-actions" id="session" hidden>
      <span id="updated" class="muted">Loading…</span>
      <label class="toggle"><input type="checkbox" id="auto" checked> Auto-refresh</label>
      <button type="button" id="refresh">Refresh</button>
      <button type="button" id="sign-out" class="secondary">Sign out</button>
    </div>
  </header>
  <main id="main" tabindex="-1">
    <p id="announce" class="announce" role="status" aria-live="polite"></p>
    <p id="problem" class="problem" role="alert" hidden></p>

    <section id="sign-in" class="card sign-in" aria-labelledby="sign-in-title">
      <h2 id="sign-in-title">Sign in</h2>
      <p>Paste a bearer token of a <code>platform_admin</code>. For a local api started with
        <code>AUTH_DEV_KEYS=1</code>: <code>pnpm -s dev:token -- --tenant ops --company ops --role platform_admin</code></p>
      <p id="sign-in-error" class="problem" role="alert" hidden></p>
      <form id="sign-in-form" autocomplete="off">
        <label for="token">Token</label>
        <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required>
        <button type="submit">Sign in</button>
      </form>
      <p class="muted">The token stays in this tab (session storage) and is sent only to this server. Sign out forgets it.</p>
    </section>

    <div id="dashboard" hidden>
      <nav aria-label="Sections" class="sections">
        <a href="#connections-title">Connections</a>
        <a href="#outbox-title">Outbox</a>
        <a href="#dead-letters-title">Dead letters</a>
        <a href="#deliveries-title">Webhooks</a>
        <a href="#runs-title">Reconciliation</a>
      </nav>
      <p id="key-rotation" class="warning" hidden></p>
      ${SECTIONS.connections}
      <section class="card" id="outbox" aria-labelledby="outbox-title">
        <div class="card-head"><h2 id="outbox-title" tabindex="-1">Outbox</h2></div>
        <dl class="stats" id="outbox-stats"></dl>
      </section>
      ${SECTIONS.deadLetters}
      ${SECTIONS.deliveries}
      ${SECTIONS.runs}
      ${SECTIONS.discrepancies}
    </div>
  </main>
</body>
</html>
`

/** Two arrows, one each way: Illumera ⇄ Align (and no favicon.ico 404 in the console). */
export const DASHBOARD_ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<rect width="32" height="32" rx="7" fill="#1f5fbf"/>
<path d="M7 12h16l-4-4M25 20H9l4 4" fill="none" stroke="#fff" stroke-width="3" stroke-linecap="round" stroke-linejoin="round"/>
</svg>
`
