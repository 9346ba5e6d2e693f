import type { Database } from '@illumera/db-schema'
import { conflict, notFound } from '@illumera/service-kit'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { Kysely } from 'kysely'
import { EngagementView, toEngagementView } from '../engagements/engagement-view.js'
import { findPersonOfUser, findUser, insertEngagement, lockEngagement, updateEngagement } from '../engagements/engagements.queries.js'
import { authErrors, IdParams } from '../http/schemas.js'
import { findProject } from '../projects/projects.queries.js'
import { enqueueProjectMemberDelete, enqueueProjectMemberUpsert, enqueueUserUpsert } from '../sync/enqueue.js'

const CreateEngagementBody = Type.Object({
  projectId: Type.String({ minLength: 1, maxLength: 100 }),
  userId: Type.String({ minLength: 1, maxLength: 100 }),
  hourlyRateCents: Type.Integer({ minimum: 0, maximum: 100_000_000 }),
}, { additionalProperties: false })

export const engagementRoutes: FastifyPluginAsyncTypebox<{ db: Kysely<Database> }> = async (app, { db }) => {
  app.post('', {
    onRequest: app.requireRole('company_admin'),
    schema: { tags: ['engagements'], body: CreateEngagementBody, response: { 201: EngagementView, ...authErrors } },
  }, async (request, reply) => {
    const { auth, body } = request
    const project = await findProject(db, auth, body.projectId)
    if (!project) throw notFound('project', body.projectId)
    const person = await findPersonOfUser(db, auth.tenantId, body.userId)
    if (!person) throw notFound('user', body.userId)
    const engagement = await insertEngagement(db, {
      tenant_id: auth.tenantId, company_id: auth.companyId, project_id: project.id, person_id: person.id, hourly_rate_cents: body.hourlyRateCents,
    })
    return reply.code(201).send(toEngagementView(engagement, person.user_id))
  })

  // Talent accepts their own offer (a company admin may record it for them).
  app.post('/:id/accept', {
    onRequest: app.requireRole('talent', 'company_admin'),
    schema: { tags: ['engagements'], params: IdParams, response: { 200: EngagementView, ...authErrors } },
  }, async (request) => {
    const { auth } = request
    return db.transaction().execute(async (trx) => {
      const current = await lockEngagement(trx, auth, request.params.id)
      if (!current || (auth.role === 'talent' && current.user_id !== auth.userId)) throw notFound('engagement', request.params.id)
      if (current.status !== 'offered') throw conflict(`engagement ${current.id} is ${current.status}; only an offered engagement can be accepted`, 'invalid_state')
      const row = await updateEngagement(trx, current.id, { status: 'accepted', accepted_at: new Date() })
      // Dependency order: the user must exist in Align before the membership.
      await enqueueUserUpsert(trx, row, await findUser(trx, current.user_id))
      await enqueueProjectMemberUpsert(trx, row, current.user_id)
      return toEngagementView(row, current.user_id)
    })
  })

  app.post('/:id/end', {
    onRequest: app.requireRole('company_admin'),
    schema: { tags: ['engagements'], params: IdParams, response: { 200: EngagementView, ...authErrors } },
  }, async (request) => {
    return db.transaction().execute(async (trx) => {
      const current = await lockEngagement(trx, request.auth, request.params.id)
      if (!current) throw notFound('engagement', request.params.id)
      if (current.status === 'ended') throw conflict(`engagement ${current.id} has already ended`, 'invalid_state')
      const row = await updateEngagement(trx, current.id, { status: 'ended', ended_at: new Date() })
      // Only an accepted engagement ever became an Align membership.
      if (current.status === 'accepted') await enqueueProjectMemberDelete(trx, row)
      return toEngagementView(row, current.user_id)
    })
  })
}
