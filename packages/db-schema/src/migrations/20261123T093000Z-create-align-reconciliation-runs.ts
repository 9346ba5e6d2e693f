import { type Kysely, sql } from 'kysely'

// One row per reconciliation run (services/reconciliation), so the admin dashboard can show the last run:
// when it started and ended, its outcome, its totals, and a per-connection JSON summary. A run that is
// still going (or died without finishing) has finished_at and outcome null. Discrepancies found by a run
// point back here through align_reconciliation_log.run_id.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table align_reconciliation_runs (
      id text primary key default gen_random_uuid()::text,
      started_at timestamptz not null,
      finished_at timestamptz,
      outcome text check (outcome in ('ok', 'discrepancies', 'failed', 'incomplete')),
      options jsonb not null default '{}',
      connections_checked integer not null default 0,
      connections_incomplete integer not null default 0,
      projects_checked integer not null default 0,
      discrepancies integer not null default 0,
      align_calls integer not null default 0,
      summary jsonb,
      error text
    );
    create index align_reconciliation_runs_started_idx on align_reconciliation_runs (started_at desc);
    create index align_reconciliation_log_run_idx on align_reconciliation_log (run_id);
  `.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop index align_reconciliation_log_run_idx;
    drop table align_reconciliation_runs;
  `.execute(db)
}
