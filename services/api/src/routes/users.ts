import type { Database } from '@illumera/db-schema'
import { conflict, notFound } from '@illumera/service-kit'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { Kysely } from 'kysely'
import { isUniqueViolation } from '../http/pg-errors.js'
import { authErrors, IdParams } from '../http/schemas.js'
import { enqueueUserUpsert } from '../sync/enqueue.js'
import { toUserView, UserView } from '../users/user-view.js'
import {
  findCompaniesWithAcceptedEngagements, insertTalentUser, lockUserWithProfile, updatePersonTitle, updateUser,
} from '../users/users.queries.js'

const Email = Type.String({ minLength: 3, maxLength: 320, pattern: '^[^\\s@]+@[^\\s@]+$' })

const CreateUserBody = Type.Object({
  email: Email,
  name: Type.String({ minLength: 1, maxLength: 200 }),
  title: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
}, { additionalProperties: false })

const PatchUserBody = Type.Object({
  email: Type.Optional(Email),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  title: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
}, { additionalProperties: false, minProperties: 1 })

export const userRoutes: FastifyPluginAsyncTypebox<{ db: Kysely<Database> }> = async (app, { db }) => {
  app.post('', {
    onRequest: app.requireRole('company_admin'),
    schema: { tags: ['users'], body: CreateUserBody, response: { 201: UserView, ...authErrors } },
  }, async (request, reply) => {
    try {
      const { user, person } = await insertTalentUser(db, {
        tenantId: request.auth.tenantId, email: request.body.email.toLowerCase(), name: request.body.name, title: request.body.title ?? null,
      })
      return reply.code(201).send(toUserView(user, person))
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`a user with email ${request.body.email} already exists`, 'email_taken')
      throw err
    }
  })

  // Stands in for the reference's Clerk `user.updated` webhook: a profile change of a user with accepted
  // engagements re-syncs the user to each engaging company's Align.
  app.patch('/:id', {
    onRequest: app.requireRole('company_admin', 'talent'),
    schema: { tags: ['users'], params: IdParams, body: PatchUserBody, response: { 200: UserView, ...authErrors } },
  }, async (request) => {
    const { auth } = request
    if (auth.role === 'talent' && auth.userId !== request.params.id) throw notFound('user', request.params.id)
    try {
      return await db.transaction().execute(async (trx) => {
        const current = await lockUserWithProfile(trx, auth.tenantId, request.params.id)
        if (!current) throw notFound('user', request.params.id)
        const { email, name, title } = request.body
        const user = await updateUser(trx, current.id, {
          ...(email !== undefined ? { email: email.toLowerCase() } : {}),
          ...(name !== undefined ? { name } : {}),
        })
        if (title !== undefined) await updatePersonTitle(trx, current.person_id, title)
        if (email !== undefined || name !== undefined) {
          for (const owner of await findCompaniesWithAcceptedEngagements(trx, current.person_id)) await enqueueUserUpsert(trx, owner, user)
        }
        return toUserView(user, { id: current.person_id, title: title !== undefined ? title : current.title })
      })
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`a user with email ${request.body.email} already exists`, 'email_taken')
      throw err
    }
  })
}
