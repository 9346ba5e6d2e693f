import { type Kysely, sql } from 'kysely'

// Pacing for the shared Align budget (@illumera/align-rate-budget): besides the sliding log of grants (the hard
// cap), each connection's row keeps a GCRA "theoretical arrival time" (epoch ms, fractional: the pacing interval
// is not a whole number of ms). Grants go out at most a small burst ahead of it and are otherwise spaced at
// limit/window, instead of a whole window's worth at once.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table align_rate_budgets add column pacing_tat_ms double precision not null default 0`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table align_rate_budgets drop column pacing_tat_ms`.execute(db)
}
