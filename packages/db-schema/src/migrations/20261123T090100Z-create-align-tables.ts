import { type Kysely, sql } from 'kysely'

// The reference's Align tables with exactly its names, types and nullability, plus the columns and
// indexes our features need (each commented).
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create type align_connection_status as enum ('active', 'error', 'disconnected');
    create type align_sync_operation as enum ('upsert', 'delete');
    create type align_sync_status as enum ('pending', 'processing', 'done', 'failed');
    create type align_delivery_status as enum ('received', 'processed', 'failed');

    create table align_connections (
      id text primary key default gen_random_uuid()::text,
      tenant_id text not null references tenants(id),
      company_id text not null references company_profiles(id),
      encrypted_api_key text not null,
      key_last_four text not null,
      align_org_id text not null,
      align_key_scope text not null,
      webhook_subscription_id text,
      webhook_secret text,
      webhook_url text,
      status align_connection_status not null default 'active',
      last_sync_at timestamptz,
      last_error_at timestamptz,
      last_error_message text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      -- beyond the reference
      webhook_path_token text unique,
      previous_webhook_secret text,
      previous_webhook_secret_expires_at timestamptz,
      api_key_created_at timestamptz not null default now(),
      paused_until timestamptz
    );
    -- At most one active connection per company.
    create unique index align_connections_one_active_idx on align_connections (tenant_id, company_id) where status = 'active';
    -- Inbound webhooks find their connection by Align organisation.
    create index align_connections_org_idx on align_connections (align_org_id);

    create table align_entity_links (
      id text primary key default gen_random_uuid()::text,
      tenant_id text not null references tenants(id),
      company_id text not null references company_profiles(id),
      provider text not null default 'illumera',
      external_type text not null,
      external_id text not null,
      align_entity_type text not null,
      align_entity_id text not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      constraint align_entity_links_external_key unique (tenant_id, external_type, external_id),
      constraint align_entity_links_align_key unique (tenant_id, align_entity_type, align_entity_id)
    );
    create index align_entity_links_company_idx on align_entity_links (tenant_id, company_id, external_type);

    create table align_webhook_deliveries (
      id text primary key default gen_random_uuid()::text,
      delivery_id text not null unique,
      event_name text not null,
      tenant_id text,
      company_id text,
      payload jsonb,
      status align_delivery_status not null default 'received',
      received_at timestamptz not null default now(),
      processed_at timestamptz,
      error text,
      -- beyond the reference
      connection_id text references align_connections(id),
      body_sha256 text
    );
    -- Replay detection (same signed body, new delivery id) and pruning by age.
    create index align_webhook_deliveries_body_idx on align_webhook_deliveries (connection_id, body_sha256) where body_sha256 is not null;
    create index align_webhook_deliveries_received_idx on align_webhook_deliveries (received_at);

    create table align_sync_outbox (
      id text primary key default gen_random_uuid()::text,
      tenant_id text not null references tenants(id),
      company_id text not null references company_profiles(id),
      entity_type text not null,
      local_id text not null,
      operation align_sync_operation not null,
      payload jsonb,
      status align_sync_status not null default 'pending',
      attempts integer not null default 0,
      last_attempt_at timestamptz,
      next_retry_at timestamptz not null default now(),
      error text,
      created_at timestamptz not null default now(),
      -- beyond the reference
      connection_id text references align_connections(id),
      seq bigint generated always as identity,
      lease_token text,
      lease_expires_at timestamptz
    );
    -- The claim scans only due pending rows, oldest first.
    create index align_sync_outbox_due_idx on align_sync_outbox (next_retry_at, seq) where status = 'pending';
    -- Per-entity ordering and coalescing look at the open rows of one entity.
    create index align_sync_outbox_entity_idx on align_sync_outbox (tenant_id, entity_type, local_id, seq) where status in ('pending', 'processing');
    -- Expired leases are found without scanning finished rows.
    create index align_sync_outbox_processing_idx on align_sync_outbox (lease_expires_at) where status = 'processing';
    create index align_sync_outbox_connection_status_idx on align_sync_outbox (connection_id, status);
    -- Retention deletes old done rows in batches.
    create index align_sync_outbox_done_idx on align_sync_outbox (created_at) where status = 'done';

    create table align_reconciliation_log (
      id text primary key default gen_random_uuid()::text,
      tenant_id text not null references tenants(id),
      project_id text references projects(id),
      field text not null,
      illumera_value text,
      align_value text,
      detected_at timestamptz not null default now(),
      -- beyond the reference
      connection_id text references align_connections(id),
      run_id text
    );
    create index align_reconciliation_log_detected_idx on align_reconciliation_log (tenant_id, detected_at desc);
  `.execute(db)

  for (const table of ['align_connections', 'align_entity_links']) {
    await sql`create trigger set_updated_at before update on ${sql.table(table)} for each row execute function set_updated_at()`.execute(db)
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop table align_reconciliation_log, align_sync_outbox, align_webhook_deliveries, align_entity_links, align_connections;
    drop type align_delivery_status, align_sync_status, align_sync_operation, align_connection_status;
  `.execute(db)
}
