import type { Database, NewProject, NewProjectSlot, Project, ProjectSlot, ProjectUpdate } from '@illumera/db-schema'
import type { Kysely } from 'kysely'
import { cursorText, keysetAfter, type TimeCursor } from '../http/pagination.js'

export interface CompanyScope {
  tenantId: string
  companyId: string
}

export function insertProject(db: Kysely<Database>, values: NewProject): Promise<Project> {
  return db.insertInto('projects').values(values).returningAll().executeTakeFirstOrThrow()
}

export function findProject(db: Kysely<Database>, scope: CompanyScope, id: string): Promise<Project | undefined> {
  return db.selectFrom('projects').selectAll()
    .where('id', '=', id).where('tenant_id', '=', scope.tenantId).where('company_id', '=', scope.companyId)
    .executeTakeFirst()
}

/** Locks the project row so concurrent changes of one project serialize (and enqueue in commit order). */
export function lockProject(db: Kysely<Database>, scope: CompanyScope, id: string): Promise<Project | undefined> {
  return db.selectFrom('projects').selectAll()
    .where('id', '=', id).where('tenant_id', '=', scope.tenantId).where('company_id', '=', scope.companyId)
    .forUpdate()
    .executeTakeFirst()
}

export function updateProject(db: Kysely<Database>, id: string, values: ProjectUpdate): Promise<Project> {
  return db.updateTable('projects').set(values).where('id', '=', id).returningAll().executeTakeFirstOrThrow()
}

export function listProjects(db: Kysely<Database>, scope: CompanyScope, after: TimeCursor | undefined, limit: number) {
  let query = db.selectFrom('projects').selectAll().select(cursorText('created_at').as('cursor_at'))
    .where('tenant_id', '=', scope.tenantId).where('company_id', '=', scope.companyId)
  if (after) query = query.where(keysetAfter('created_at', 'id', after))
  return query.orderBy('created_at').orderBy('id').limit(limit + 1).execute()
}

export function insertProjectSlot(db: Kysely<Database>, values: NewProjectSlot): Promise<ProjectSlot> {
  return db.insertInto('project_slots').values(values).returningAll().executeTakeFirstOrThrow()
}

export function listProjectSlots(db: Kysely<Database>, projectId: string): Promise<ProjectSlot[]> {
  return db.selectFrom('project_slots').selectAll().where('project_id', '=', projectId).orderBy('created_at').orderBy('id').execute()
}
