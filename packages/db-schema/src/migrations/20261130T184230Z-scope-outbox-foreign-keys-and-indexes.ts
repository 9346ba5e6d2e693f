import { type Kysely, sql } from 'kysely'

// align_sync_outbox gets a row with most domain writes (POST /api/time-entries, say), so every foreign key
// (a referential check that locks the referenced row per insert) and every index (an insert) is paid on
// that hot path. This migration keeps what they guarantee, and more, for less:
// - The three single-column keys (tenant_id, company_id, connection_id) become two composite ones: a row's
//   connection belongs to the row's tenant and company, and its company to its tenant (so a row written
//   without a connection — by hand; the worker resolves it later — is still checked). Each is added NOT
//   VALID, then validated; the migrator runs in one transaction, so the validation scan happens under the
//   lock ADD takes: one pass over the outbox (kept short by retention) against the small referenced tables.
//   Existing rows whose tenant or company disagree with their connection's make the migration fail, naming
//   the row's keys.
// - align_sync_outbox_connection_status_idx (connection_id, status) and align_sync_outbox_connection_pending_idx
//   (connection_id, seq) where pending become one index (connection_id, status, seq): the worker's claim walks
//   a connection's pending rows in seq order on it, and the per-connection counts, retries, listings and
//   reconciliation's open-row check read it as they read the old one.
// - align_sync_outbox_due_idx (next_retry_at, seq) where pending is dropped: no query reads it since the
//   claim walks each connection's rows (next_retry_at is a filter there).
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table align_connections add constraint align_connections_scope_key unique (id, tenant_id, company_id);
    alter table company_profiles add constraint company_profiles_tenant_key unique (id, tenant_id);

    alter table align_sync_outbox
      drop constraint align_sync_outbox_tenant_id_fkey,
      drop constraint align_sync_outbox_company_id_fkey,
      drop constraint align_sync_outbox_connection_id_fkey,
      add constraint align_sync_outbox_connection_fkey foreign key (connection_id, tenant_id, company_id)
        references align_connections (id, tenant_id, company_id) not valid,
      add constraint align_sync_outbox_company_fkey foreign key (company_id, tenant_id)
        references company_profiles (id, tenant_id) not valid;
    alter table align_sync_outbox validate constraint align_sync_outbox_connection_fkey;
    alter table align_sync_outbox validate constraint align_sync_outbox_company_fkey;

    create index align_sync_outbox_connection_idx on align_sync_outbox (connection_id, status, seq);
    drop index align_sync_outbox_connection_status_idx, align_sync_outbox_connection_pending_idx, align_sync_outbox_due_idx;
  `.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    create index align_sync_outbox_due_idx on align_sync_outbox (next_retry_at, seq) where status = 'pending';
    create index align_sync_outbox_connection_status_idx on align_sync_outbox (connection_id, status);
    create index align_sync_outbox_connection_pending_idx on align_sync_outbox (connection_id, seq) where status = 'pending';
    drop index align_sync_outbox_connection_idx;

    alter table align_sync_outbox
      drop constraint align_sync_outbox_connection_fkey,
      drop constraint align_sync_outbox_company_fkey,
      add constraint align_sync_outbox_tenant_id_fkey foreign key (tenant_id) references tenants (id),
      add constraint align_sync_outbox_company_id_fkey foreign key (company_id) references company_profiles (id),
      add constraint align_sync_outbox_connection_id_fkey foreign key (connection_id) references align_connections (id);
    alter table company_profiles drop constraint company_profiles_tenant_key;
    alter table align_connections drop constraint align_connections_scope_key;
  `.execute(db)
}
