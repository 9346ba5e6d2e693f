import { type Kysely, sql } from 'kysely'

// The minimal Illumera domain the integration flows need. Ids are text (random UUIDs, except tenants and
// companies, whose ids come from the identity provider). `updated_at` is kept current by a trigger.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function set_updated_at() returns trigger language plpgsql as $$
    begin
      new.updated_at := now();
      return new;
    end $$;

    create type project_status as enum ('draft', 'active', 'closed');
    create type engagement_status as enum ('offered', 'accepted', 'ended');
    create type illumera_user_role as enum ('talent', 'hiring_manager');
    create type time_entry_status as enum ('draft', 'submitted', 'approved', 'rejected', 'locked', 'invoiced');
    create type time_entry_source as enum ('illumera', 'align');
    create type time_entry_sync_status as enum ('pending', 'synced', 'error');

    create table tenants (
      id text primary key,
      name text not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );

    create table company_profiles (
      id text primary key,
      tenant_id text not null references tenants(id),
      name text not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index company_profiles_tenant_idx on company_profiles (tenant_id);

    create table users (
      id text primary key default gen_random_uuid()::text,
      tenant_id text not null references tenants(id),
      email text not null,
      name text not null,
      role illumera_user_role not null default 'talent',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (tenant_id, email)
    );

    create table person_profiles (
      id text primary key default gen_random_uuid()::text,
      tenant_id text not null references tenants(id),
      user_id text not null unique references users(id),
      title text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );

    create table projects (
      id text primary key default gen_random_uuid()::text,
      tenant_id text not null references tenants(id),
      company_id text not null references company_profiles(id),
      name text not null,
      description text,
      status project_status not null default 'draft',
      time_billing_enabled boolean not null default true,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index projects_tenant_company_idx on projects (tenant_id, company_id, created_at, id);

    create table project_slots (
      id text primary key default gen_random_uuid()::text,
      tenant_id text not null references tenants(id),
      project_id text not null references projects(id),
      role_title text not null,
      openings integer not null check (openings > 0),
      hourly_rate_cents integer check (hourly_rate_cents >= 0),
      notes text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index project_slots_project_idx on project_slots (project_id);

    create table engagements (
      id text primary key default gen_random_uuid()::text,
      tenant_id text not null references tenants(id),
      company_id text not null references company_profiles(id),
      project_id text not null references projects(id),
      person_id text not null references person_profiles(id),
      status engagement_status not null default 'offered',
      hourly_rate_cents integer not null check (hourly_rate_cents >= 0),
      accepted_at timestamptz,
      ended_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index engagements_project_idx on engagements (project_id);
    create index engagements_person_idx on engagements (person_id);

    create table time_entries (
      id text primary key default gen_random_uuid()::text,
      tenant_id text not null references tenants(id),
      company_id text not null references company_profiles(id),
      project_id text not null references projects(id),
      engagement_id text not null references engagements(id),
      person_id text not null references person_profiles(id),
      work_date text not null check (work_date ~ '^\\d{4}-\\d{2}-\\d{2}$'),
      minutes integer not null check (minutes > 0 and minutes <= 1440),
      notes text,
      status time_entry_status not null default 'draft',
      rejection_reason text,
      source time_entry_source not null default 'illumera',
      sync_status time_entry_sync_status not null default 'pending',
      sync_error text,
      is_adjustment boolean not null default false,
      adjusts_entry_id text references time_entries(id),
      deleted_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index time_entries_project_status_idx on time_entries (project_id, status) where deleted_at is null;
    create index time_entries_tenant_company_idx on time_entries (tenant_id, company_id, created_at, id);
    create index time_entries_engagement_idx on time_entries (engagement_id);

    create table invoices (
      id text primary key default gen_random_uuid()::text,
      tenant_id text not null references tenants(id),
      company_id text not null references company_profiles(id),
      engagement_id text not null references engagements(id),
      amount_cents bigint not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index invoices_engagement_idx on invoices (engagement_id);
  `.execute(db)

  for (const table of ['tenants', 'company_profiles', 'users', 'person_profiles', 'projects', 'project_slots', 'engagements', 'time_entries', 'invoices']) {
    await sql`create trigger set_updated_at before update on ${sql.table(table)} for each row execute function set_updated_at()`.execute(db)
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop table invoices, time_entries, engagements, project_slots, projects, person_profiles, users, company_profiles, tenants;
    drop type time_entry_sync_status, time_entry_source, time_entry_status, illumera_user_role, engagement_status, project_status;
    drop function set_updated_at();
  `.execute(db)
}
