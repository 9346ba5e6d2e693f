import type { Database } from '@illumera/db-schema'
import { conflict, notFound } from '@illumera/service-kit'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { Kysely } from 'kysely'
import { decodeTimeCursor, encodeTimeCursor, page, PageQuery } from '../http/pagination.js'
import { authErrors, IdParams, pageOf } from '../http/schemas.js'
import { ProjectSlotView, ProjectView, toProjectSlotView, toProjectView } from '../projects/project-view.js'
import {
  findProject, insertProject, insertProjectSlot, listProjects, listProjectSlots, lockProject, updateProject,
} from '../projects/projects.queries.js'
import { enqueueProjectUpsert, enqueueWikiPageUpsert } from '../sync/enqueue.js'

const CreateProjectBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  description: Type.Optional(Type.Union([Type.String({ maxLength: 5000 }), Type.Null()])),
  timeBillingEnabled: Type.Optional(Type.Boolean()),
}, { additionalProperties: false })

const PatchProjectBody = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  description: Type.Optional(Type.Union([Type.String({ maxLength: 5000 }), Type.Null()])),
  timeBillingEnabled: Type.Optional(Type.Boolean()),
}, { additionalProperties: false, minProperties: 1 })

const CreateSlotBody = Type.Object({
  roleTitle: Type.String({ minLength: 1, maxLength: 200 }),
  openings: Type.Integer({ minimum: 1, maximum: 1000 }),
  hourlyRateCents: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 100_000_000 }), Type.Null()])),
  notes: Type.Optional(Type.Union([Type.String({ maxLength: 5000 }), Type.Null()])),
}, { additionalProperties: false })

export const projectRoutes: FastifyPluginAsyncTypebox<{ db: Kysely<Database> }> = async (app, { db }) => {
  const admin = app.requireRole('company_admin')
  const anyMember = app.requireRole('company_admin', 'talent')

  app.post('', {
    onRequest: admin,
    schema: { tags: ['projects'], body: CreateProjectBody, response: { 201: ProjectView, ...authErrors } },
  }, async (request, reply) => {
    const { tenantId, companyId } = request.auth
    const project = await db.transaction().execute(async (trx) => {
      const row = await insertProject(trx, {
        tenant_id: tenantId, company_id: companyId, name: request.body.name,
        description: request.body.description ?? null, time_billing_enabled: request.body.timeBillingEnabled ?? true,
      })
      await enqueueProjectUpsert(trx, row)
      return row
    })
    return reply.code(201).send(toProjectView(project))
  })

  app.get('', {
    onRequest: anyMember,
    schema: { tags: ['projects'], querystring: Type.Object(PageQuery, { additionalProperties: false }), response: { 200: pageOf(ProjectView), ...authErrors } },
  }, async (request) => {
    const rows = await listProjects(db, request.auth, decodeTimeCursor(request.query.cursor), request.query.limit)
    return page(rows, request.query.limit, toProjectView, (r) => encodeTimeCursor(r.cursor_at, r.id))
  })

  app.get('/:id', {
    onRequest: anyMember,
    schema: { tags: ['projects'], params: IdParams, response: { 200: ProjectView, ...authErrors } },
  }, async (request) => {
    const project = await findProject(db, request.auth, request.params.id)
    if (!project) throw notFound('project', request.params.id)
    return toProjectView(project)
  })

  app.patch('/:id', {
    onRequest: admin,
    schema: { tags: ['projects'], params: IdParams, body: PatchProjectBody, response: { 200: ProjectView, ...authErrors } },
  }, async (request) => {
    const project = await db.transaction().execute(async (trx) => {
      const current = await lockProject(trx, request.auth, request.params.id)
      if (!current) throw notFound('project', request.params.id)
      const { name, description, timeBillingEnabled } = request.body
      const row = await updateProject(trx, current.id, {
        ...(name !== undefined ? { name } : {}),
        ...(description !== undefined ? { description } : {}),
        ...(timeBillingEnabled !== undefined ? { time_billing_enabled: timeBillingEnabled } : {}),
      })
      await enqueueProjectUpsert(trx, row)
      return row
    })
    return toProjectView(project)
  })

  app.post('/:id/activate', {
    onRequest: admin,
    schema: { tags: ['projects'], params: IdParams, response: { 200: ProjectView, ...authErrors } },
  }, async (request) => {
    const project = await db.transaction().execute(async (trx) => {
      const current = await lockProject(trx, request.auth, request.params.id)
      if (!current) throw notFound('project', request.params.id)
      if (current.status !== 'draft') throw conflict(`project ${current.id} is ${current.status}; only a draft project can be activated`, 'invalid_state')
      const row = await updateProject(trx, current.id, { status: 'active' })
      await enqueueWikiPageUpsert(trx, row, await listProjectSlots(trx, row.id))
      return row
    })
    return toProjectView(project)
  })

  app.post('/:id/slots', {
    onRequest: admin,
    schema: { tags: ['projects'], params: IdParams, body: CreateSlotBody, response: { 201: ProjectSlotView, ...authErrors } },
  }, async (request, reply) => {
    const project = await findProject(db, request.auth, request.params.id)
    if (!project) throw notFound('project', request.params.id)
    const slot = await insertProjectSlot(db, {
      tenant_id: project.tenant_id, project_id: project.id, role_title: request.body.roleTitle, openings: request.body.openings,
      hourly_rate_cents: request.body.hourlyRateCents ?? null, notes: request.body.notes ?? null,
    })
    return reply.code(201).send(toProjectSlotView(slot))
  })
}
