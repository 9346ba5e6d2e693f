import type { Database } from '@illumera/db-schema'
import { notFound, type SecretBox } from '@illumera/service-kit'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { Kysely } from 'kysely'
import type { AlignSettings } from '../app.js'
import { ConnectionView, toConnectionView } from '../connections/connection-view.js'
import { backfillCompany, type ConnectionContext, connectCompany, disconnectCompany, updateConnectionSettings } from '../connections/connections.js'
import { countOutboxByStatus, findLatestConnection } from '../connections/connections.queries.js'
import { authErrors, ErrorBodySchema } from '../http/schemas.js'

const ApiKey = Type.String({ minLength: 8, maxLength: 500, pattern: '^\\S+$', description: 'an organization-scoped Align API key' })

const ConnectBody = Type.Object({
  companyId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  apiKey: ApiKey,
  backfill: Type.Optional(Type.Boolean({ description: 'also enqueue the company\'s existing history (default false)' })),
}, { additionalProperties: false })

const PatchBody = Type.Object({
  apiKey: Type.Optional(ApiKey),
  resubscribe: Type.Optional(Type.Literal(true)),
}, { additionalProperties: false, minProperties: 1 })

const BackfillView = Type.Object({
  projects: Type.Integer(), users: Type.Integer(), members: Type.Integer(),
  timeEntries: Type.Integer(), submits: Type.Integer(), wikiPages: Type.Integer(),
})

const ConnectView = Type.Object({ connection: ConnectionView, backfill: Type.Union([BackfillView, Type.Null()]) })

const connectionErrors = { ...authErrors, 502: ErrorBodySchema }

export interface ConnectionRoutesOptions {
  db: Kysely<Database>
  secretBox: SecretBox
  align: AlignSettings
  now: () => Date
}

export const connectionRoutes: FastifyPluginAsyncTypebox<ConnectionRoutesOptions> = async (app, options) => {
  const admin = app.requireRole('company_admin')
  const context = (log: ConnectionContext['log']): ConnectionContext => ({ ...options, log })
  async function view(connection: Parameters<typeof toConnectionView>[0]) {
    const counts = await countOutboxByStatus(options.db, [connection.id])
    return toConnectionView(connection, counts.get(connection.id)!)
  }

  app.post('', {
    onRequest: admin,
    schema: { tags: ['align'], body: ConnectBody, response: { 201: ConnectView, ...connectionErrors } },
  }, async (request, reply) => {
    const { auth, body } = request
    // A company admin connects their own company only.
    if (body.companyId !== undefined && body.companyId !== auth.companyId) throw notFound('company', body.companyId)
    const result = await connectCompany(context(request.log), auth, { apiKey: body.apiKey, backfill: body.backfill ?? false })
    request.log.info({ connectionId: result.connection.id, alignOrgId: result.connection.align_org_id }, 'Align connection created')
    return reply.code(201).send({ connection: await view(result.connection), backfill: result.backfill })
  })

  app.get('', {
    onRequest: admin,
    schema: { tags: ['align'], response: { 200: ConnectionView, ...connectionErrors } },
  }, async (request) => {
    const connection = await findLatestConnection(options.db, request.auth)
    if (!connection) throw notFound('Align connection of company', request.auth.companyId)
    return view(connection)
  })

  app.patch('', {
    onRequest: admin,
    schema: { tags: ['align'], body: PatchBody, response: { 200: ConnectionView, ...connectionErrors } },
  }, async (request) => {
    const connection = await updateConnectionSettings(context(request.log), request.auth, request.body)
    request.log.info({ connectionId: connection.id, rotatedKey: request.body.apiKey !== undefined, resubscribed: request.body.resubscribe === true }, 'Align connection updated')
    return view(connection)
  })

  app.delete('', {
    onRequest: admin,
    schema: { tags: ['align'], response: { 200: ConnectionView, ...connectionErrors } },
  }, async (request) => {
    const connection = await disconnectCompany(context(request.log), request.auth)
    request.log.info({ connectionId: connection.id }, 'Align connection disconnected')
    return view(connection)
  })

  app.post('/backfill', {
    onRequest: admin,
    schema: { tags: ['align'], response: { 200: BackfillView, ...connectionErrors } },
  }, async (request) => backfillCompany(context(request.log), request.auth))
}
