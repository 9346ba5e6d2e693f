import { type Kysely, sql } from 'kysely'

// The sync worker's side of Align's rate limit and dependency wait:
// - align_rate_budgets: one row per connection holding the grant times (epoch ms) of the Align calls
//   made in the last window by every replica and job, so all of them share one key's 600/min budget.
// - align_sync_outbox.waiting_for: a row parked until the link it depends on lands ("project:<localId>",
//   "user:<localId>", "project_member:<alignProjectId>:<alignUserId>", "time_entry:<localId>").
// - an index that lets the fair claim walk one connection's pending rows in commit order.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table align_rate_budgets (
      connection_id text primary key references align_connections(id) on delete cascade,
      grants bigint[] not null default '{}',
      updated_at timestamptz not null default now()
    );

    alter table align_sync_outbox add column waiting_for text;
    create index align_sync_outbox_waiting_idx on align_sync_outbox (tenant_id, waiting_for) where status = 'pending' and waiting_for is not null;
    create index align_sync_outbox_connection_pending_idx on align_sync_outbox (connection_id, seq) where status = 'pending';
  `.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop index align_sync_outbox_connection_pending_idx;
    drop index align_sync_outbox_waiting_idx;
    alter table align_sync_outbox drop column waiting_for;
    drop table align_rate_budgets;
  `.execute(db)
}
