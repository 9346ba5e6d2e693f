// The dashboard's stylesheet: system fonts, light and dark, visible focus, tables that scroll sideways
// on narrow screens. Status is always written out, colour only repeats it.
export const DASHBOARD_CSS = `
:root {
  color-scheme: light dark;
  --bg: #f5f6f8; --card: #ffffff; --text: #1b1f24; --muted: #5b6470; --line: #dde1e6; --stripe: #f8f9fb;
  --accent: #1f5fbf; --accent-text: #ffffff; --focus: #f0a500;
  --ok-bg: #e3f4e8; --ok: #1d6b35; --warn-bg: #fff3d6; --warn: #7a5200; --bad-bg: #fde5e4; --bad: #a4201b;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #14171b; --card: #1d2126; --text: #e7eaee; --muted: #a3acb7; --line: #333a42; --stripe: #22272d;
    --accent: #6ea8ff; --accent-text: #0b1320; --focus: #ffc24b;
    --ok-bg: #173623; --ok: #8fe0a8; --warn-bg: #3a2f12; --warn: #f3cf7a; --bad-bg: #41191a; --bad: #ff9d97;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); }
[hidden] { display: none !important; }
code { font: 0.9em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; border-radius: 3px; }
h2[tabindex="-1"]:focus, main:focus { outline: none; }
h2[tabindex="-1"]:focus-visible { outline: 3px solid var(--focus); }

.skip-link { position: absolute; left: 1rem; top: -3rem; background: var(--accent); color: var(--accent-text); padding: .5rem .8rem; border-radius: 4px; z-index: 10; }
.skip-link:focus { top: .5rem; }
.visually-hidden { position: absolute !important; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }

.bar { display: flex; flex-wrap: wrap; gap: .75rem 1.5rem; align-items: center; justify-content: space-between; padding: .8rem 1.5rem; background: var(--card); border-bottom: 1px solid var(--line); }
.bar h1 { margin: 0; font-size: 1.25rem; }
.bar-actions { display: flex; flex-wrap: wrap; gap: .6rem; align-items: center; }
main { max-width: 1400px; margin: 0 auto; padding: 1rem 1.5rem 3rem; }

button { font: inherit; padding: .4rem .9rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: var(--accent-text); cursor: pointer; }
button.secondary { background: transparent; color: var(--accent); }
button:hover:not(:disabled) { filter: brightness(1.1); }
button:disabled { opacity: .6; cursor: progress; }
.toggle { display: inline-flex; gap: .35rem; align-items: center; }
.toggle input { width: 1.05rem; height: 1.05rem; }

.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1rem 1.25rem; margin: 1rem 0; }
.card-head { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; justify-content: space-between; }
.card h2 { margin: 0 0 .6rem; font-size: 1.1rem; }
.count { display: inline-block; min-width: 1.6em; padding: 0 .45em; border-radius: 999px; background: var(--stripe); border: 1px solid var(--line); font-size: .8rem; font-weight: 600; text-align: center; vertical-align: 2px; }
.count:empty { display: none; }
.sections { display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; margin: .5rem 0 0; }

.sign-in { max-width: 44rem; }
.sign-in form { display: flex; flex-wrap: wrap; gap: .6rem; align-items: center; margin: 1rem 0; }
.sign-in label { font-weight: 600; }
.sign-in input { flex: 1 1 20rem; font: inherit; padding: .45rem .6rem; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--text); }

.table-wrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; font-size: .93rem; }
th, td { text-align: left; vertical-align: top; padding: .5rem .6rem; border-bottom: 1px solid var(--line); }
thead th { font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); white-space: nowrap; }
/* The connections table has the most columns: its headings may wrap so the rows fit without scrolling. */
#connections-table thead th { white-space: normal; }
tbody th { font-weight: 600; }
tbody tr:nth-child(even) { background: var(--stripe); }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.sub { display: block; color: var(--muted); font-size: .82rem; font-weight: normal; }
.muted { color: var(--muted); }
.error-text { color: var(--bad); overflow-wrap: anywhere; max-width: 32rem; white-space: pre-wrap; }
.bad { color: var(--bad); }
.empty { color: var(--muted); margin: .25rem 0; }
.more { color: var(--muted); font-size: .85rem; margin: .5rem 0 0; }

.badge { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .8rem; font-weight: 600; background: var(--stripe); border: 1px solid var(--line); }
.badge-active, .badge-ok { background: var(--ok-bg); color: var(--ok); border-color: transparent; }
.badge-error, .badge-bad { background: var(--bad-bg); color: var(--bad); border-color: transparent; }
.badge-warn { background: var(--warn-bg); color: var(--warn); border-color: transparent; }
/* A badge that says a sentence: it may wrap, so it gets corners rather than a pill. */
.badge-wide { display: block; width: max-content; max-width: 13rem; margin-top: .3rem; border-radius: 6px; white-space: normal; }
tbody tr.row-warn > th { box-shadow: inset 4px 0 0 var(--warn); }

.direction { white-space: nowrap; }
.run { margin-top: .35rem; font-size: .82rem; color: var(--muted); }
.run-head { display: block; }
.run progress { display: block; width: 9rem; height: .6rem; margin: .2rem 0; accent-color: var(--accent); }
.run-figures { font-variant-numeric: tabular-nums; }

.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); gap: .75rem; margin: 0; }
.stat { border: 1px solid var(--line); border-radius: 8px; padding: .6rem .8rem; }
.stat dt { color: var(--muted); font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; }
.stat dd { margin: .15rem 0 0; font-size: 1.5rem; font-weight: 650; font-variant-numeric: tabular-nums; }
.stat-bad { border-color: var(--bad); }
.stat-bad dd { color: var(--bad); }

.announce:empty { display: none; }
.announce { padding: .5rem .8rem; border-radius: 6px; background: var(--ok-bg); color: var(--ok); }
.warning { padding: .5rem .8rem; border-radius: 6px; background: var(--warn-bg); color: var(--warn); border-left: 4px solid var(--warn); margin: 1rem 0 0; }
.problem { padding: .5rem .8rem; border-radius: 6px; background: var(--bad-bg); color: var(--bad); }
`
