import { type Kysely, sql } from 'kysely'

// The outbox is a queue: every row is inserted, claimed (pending → processing) and finished (→ done), and each
// change of status leaves the old version's index entries behind until vacuum clears them. The claim walks a
// connection's pending range of (connection_id, status, seq) in order, so after a large drain it steps over every
// dead entry there until vacuum runs; at PostgreSQL's default scale factor (20 % of the table) a table holding a
// few days of done rows would collect hundreds of thousands first. Vacuum (and analyze, for the claim's plans)
// after 1 % of the table plus a thousand rows instead, as usual for queue tables.
const SETTINGS = {
  autovacuum_vacuum_scale_factor: 0.01,
  autovacuum_vacuum_threshold: 1000,
  autovacuum_vacuum_insert_scale_factor: 0.01,
  autovacuum_vacuum_insert_threshold: 1000,
  autovacuum_analyze_scale_factor: 0.01,
  autovacuum_analyze_threshold: 1000,
}

export async function up(db: Kysely<any>): Promise<void> {
  const list = Object.entries(SETTINGS).map(([name, value]) => `${name} = ${value}`).join(', ')
  await sql`alter table align_sync_outbox set (${sql.raw(list)})`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table align_sync_outbox reset (${sql.raw(Object.keys(SETTINGS).join(', '))})`.execute(db)
}
