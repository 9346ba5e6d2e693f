import { type Kysely, sql } from 'kysely'

// A time entry's tenant, company, project and person are its engagement's. Five single-column keys checked
// each of them on its own (five referential checks, each locking a referenced row, per insert) without
// checking that they agree; one composite key on the engagement checks that they are the engagement's, and
// the engagement's own keys check that those exist. adjusts_entry_id keeps its key. Added NOT VALID, then
// validated (see 20261130T184230Z-scope-outbox-foreign-keys-and-indexes for the lock); an entry that disagrees
// with its engagement makes the migration fail, naming its keys.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table engagements add constraint engagements_scope_key unique (id, tenant_id, company_id, project_id, person_id);

    alter table time_entries
      drop constraint time_entries_tenant_id_fkey,
      drop constraint time_entries_company_id_fkey,
      drop constraint time_entries_project_id_fkey,
      drop constraint time_entries_person_id_fkey,
      drop constraint time_entries_engagement_id_fkey,
      add constraint time_entries_engagement_fkey foreign key (engagement_id, tenant_id, company_id, project_id, person_id)
        references engagements (id, tenant_id, company_id, project_id, person_id) not valid;
    alter table time_entries validate constraint time_entries_engagement_fkey;
  `.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    alter table time_entries
      drop constraint time_entries_engagement_fkey,
      add constraint time_entries_tenant_id_fkey foreign key (tenant_id) references tenants (id),
      add constraint time_entries_company_id_fkey foreign key (company_id) references company_profiles (id),
      add constraint time_entries_project_id_fkey foreign key (project_id) references projects (id),
      add constraint time_entries_person_id_fkey foreign key (person_id) references person_profiles (id),
      add constraint time_entries_engagement_id_fkey foreign key (engagement_id) references engagements (id);
    alter table engagements drop constraint engagements_scope_key;
  `.execute(db)
}
