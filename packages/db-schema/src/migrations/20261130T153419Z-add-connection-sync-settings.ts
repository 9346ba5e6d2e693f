import { type Kysely, sql } from 'kysely'

// Per-connection sync settings, as Align's add-on page promises: the sync direction and the field
// mappings (stored as overrides of the defaults in connection-settings.ts) on the connection row, an
// audit trail of every settings change, and bulk sync runs (initial sync, backfill, resync) whose
// outbox rows carry the run's id so their progress can be counted.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table align_connections
      add column sync_direction text not null default 'bidirectional'
        check (sync_direction in ('illumera_to_align', 'align_to_illumera', 'bidirectional')),
      add column field_mappings jsonb not null default '{}',
      add column settings_updated_at timestamptz;

    create table align_connection_settings_changes (
      id text primary key default gen_random_uuid()::text,
      connection_id text not null references align_connections(id),
      tenant_id text not null references tenants(id),
      company_id text not null references company_profiles(id),
      -- users.id (JWT subject) of the company admin who made the change
      actor_user_id text not null,
      -- { "<setting path>": { "from": <old>, "to": <new> } } for every setting that changed
      changes jsonb not null,
      changed_at timestamptz not null default now()
    );
    create index align_connection_settings_changes_connection_idx on align_connection_settings_changes (connection_id, changed_at desc);

    create table align_sync_runs (
      id text primary key default gen_random_uuid()::text,
      connection_id text not null references align_connections(id),
      tenant_id text not null references tenants(id),
      company_id text not null references company_profiles(id),
      kind text not null check (kind in ('initial_sync', 'backfill', 'resync')),
      -- outbox rows written for the run (their sync_run_id is this id)
      total integer not null,
      requested_by text,
      started_at timestamptz not null default now()
    );
    create index align_sync_runs_connection_idx on align_sync_runs (connection_id, started_at desc);

    -- No foreign key: the outbox insert is the hot path, and the run row is written in the same transaction.
    alter table align_sync_outbox add column sync_run_id text;
    create index align_sync_outbox_sync_run_idx on align_sync_outbox (sync_run_id, status) where sync_run_id is not null;
  `.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop index align_sync_outbox_sync_run_idx;
    alter table align_sync_outbox drop column sync_run_id;
    drop table align_sync_runs;
    drop table align_connection_settings_changes;
    alter table align_connections drop column sync_direction, drop column field_mappings, drop column settings_updated_at;
  `.execute(db)
}
