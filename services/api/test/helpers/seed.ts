// A company with a project, an accepted engagement of a talent, and principals for each role.
import type { Database } from '@illumera/db-schema'
import { createAlignConnection, createEngagement, createProject, createTalent, createTenantWithCompany } from '@illumera/test-harness'
import type { Kysely } from 'kysely'
import type { Principal } from './app.js'

export async function seedCompany(db: Kysely<Database>, options: { connected?: boolean } = {}) {
  const { tenant, company } = await createTenantWithCompany(db)
  const owner = { tenantId: tenant.id, companyId: company.id }
  const project = await createProject(db, owner, { status: 'active' })
  const { user, person } = await createTalent(db, tenant.id)
  const engagement = await createEngagement(db, project, person.id, { status: 'accepted', accepted_at: new Date() })
  const connection = options.connected ? await createAlignConnection(db, owner) : undefined
  const admin: Principal = { ...owner, role: 'company_admin', userId: `admin-${company.id}` }
  const talent: Principal = { ...owner, role: 'talent', userId: user.id }
  const platform: Principal = { ...owner, role: 'platform_admin', userId: 'platform-1' }
  return { tenant, company, owner, project, user, person, engagement, connection, admin, talent, platform }
}

export async function outboxRows(db: Kysely<Database>, localId?: string) {
  let query = db.selectFrom('align_sync_outbox').selectAll().orderBy('seq')
  if (localId) query = query.where('local_id', '=', localId)
  return query.execute()
}
