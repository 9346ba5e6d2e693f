import { type AlignConnection, type Database, SyncDirectionSchema } from '@illumera/db-schema'
import { notFound, type SecretBox } from '@illumera/service-kit'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { Kysely } from 'kysely'
import type { AlignSettings } from '../app.js'
import {
  FieldMappingsPatch, SettingsChangeView, SettingsPatch, SettingsView, toSettingsChangeView, toSettingsView, updateSyncSettings,
} from '../connections/connection-settings.js'
import { ConnectionView, toConnectionView } from '../connections/connection-view.js'
import {
  type Actor, backfillCompany, type ConnectionContext, connectCompany, disconnectCompany, resyncCompany, updateConnectionSettings,
} from '../connections/connections.js'
import { countOutboxByStatus, findLatestConnection, findLiveConnection, listSettingsChanges } from '../connections/connections.queries.js'
import { DEFAULT_KEY_MAX_AGE_DAYS } from '../connections/key-age.js'
import { decodeTimeCursor, encodeTimeCursor, page, PageQuery } from '../http/pagination.js'
import { authErrors, ErrorBodySchema, pageOf } from '../http/schemas.js'
import { loadSyncProgress, loadSyncRunView, SyncRunView } from '../sync/sync-runs.js'

const ApiKey = Type.String({ minLength: 8, maxLength: 500, pattern: '^\\S+$', description: 'an organization-scoped Align API key' })

const ConnectBody = Type.Object({
  companyId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  apiKey: ApiKey,
  backfill: Type.Optional(Type.Boolean({ description: 'run the initial sync of the company\'s existing history at once (default true; false opts out)' })),
  syncDirection: Type.Optional(SyncDirectionSchema),
  fieldMappings: Type.Optional(FieldMappingsPatch),
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

const ResyncView = Type.Object({
  run: SyncRunView,
  counts: Type.Object({ users: Type.Integer(), members: Type.Integer(), timeEntries: Type.Integer(), wikiPages: Type.Integer() }),
})

const ChangesQuery = Type.Object({ ...PageQuery }, { additionalProperties: false })

const connectionErrors = { ...authErrors, 502: ErrorBodySchema }

export interface ConnectionRoutesOptions {
  db: Kysely<Database>
  secretBox: SecretBox
  align: AlignSettings
  now: () => Date
}

export const connectionRoutes: FastifyPluginAsyncTypebox<ConnectionRoutesOptions> = async (app, options) => {
  const admin = app.requireRole('company_admin')
  const keyMaxAgeDays = options.align.keyMaxAgeDays ?? DEFAULT_KEY_MAX_AGE_DAYS
  const context = (log: ConnectionContext['log']): ConnectionContext => ({ ...options, log })
  async function view(connection: AlignConnection) {
    const [counts, progress] = await Promise.all([countOutboxByStatus(options.db, [connection.id]), loadSyncProgress(options.db, [connection.id])])
    return toConnectionView(connection, { outbox: counts.get(connection.id)!, progress: progress.get(connection.id)!, now: options.now(), keyMaxAgeDays })
  }
  async function liveConnection(auth: Actor): Promise<AlignConnection> {
    const connection = await findLiveConnection(options.db, auth)
    if (!connection) throw notFound('Align connection of company', auth.companyId)
    return connection
  }

  app.post('', {
    onRequest: admin,
    schema: { tags: ['align'], body: ConnectBody, response: { 201: ConnectView, ...connectionErrors } },
  }, async (request, reply) => {
    const { auth, body } = request
    // A company admin connects their own company only.
    if (body.companyId !== undefined && body.companyId !== auth.companyId) throw notFound('company', body.companyId)
    const settings = body.syncDirection !== undefined || body.fieldMappings !== undefined
      ? { ...(body.syncDirection !== undefined ? { syncDirection: body.syncDirection } : {}), ...(body.fieldMappings !== undefined ? { fieldMappings: body.fieldMappings } : {}) }
      : undefined
    const result = await connectCompany(context(request.log), auth, { apiKey: body.apiKey, backfill: body.backfill ?? true, settings })
    request.log.info({
      connectionId: result.connection.id, alignOrgId: result.connection.align_org_id, syncDirection: result.connection.sync_direction,
      initialSyncRunId: result.initialSync?.id, initialSyncRows: result.initialSync?.total,
    }, 'Align connection created')
    return reply.code(201).send({ connection: await view(result.connection), backfill: result.backfill })
  })

  // The connection status.
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

  app.get('/settings', {
    onRequest: admin,
    schema: { tags: ['align'], response: { 200: SettingsView, ...connectionErrors } },
  }, async (request) => toSettingsView(await liveConnection(request.auth)))

  app.patch('/settings', {
    onRequest: admin,
    schema: { tags: ['align'], body: SettingsPatch, response: { 200: SettingsView, ...connectionErrors } },
  }, async (request) => {
    const { connection, changes } = await updateSyncSettings(options.db, request.auth, request.auth.userId, request.body, options.now())
    request.log.info({ connectionId: connection.id, changed: Object.keys(changes) }, 'Align sync settings updated')
    return toSettingsView(connection)
  })

  app.get('/settings/changes', {
    onRequest: admin,
    schema: { tags: ['align'], querystring: ChangesQuery, response: { 200: pageOf(SettingsChangeView), ...connectionErrors } },
  }, async (request) => {
    const { query } = request
    const connection = await liveConnection(request.auth)
    const rows = await listSettingsChanges(options.db, connection.id, decodeTimeCursor(query.cursor), query.limit)
    return page(rows, query.limit, toSettingsChangeView, (r) => encodeTimeCursor(r.cursor_at, r.id))
  })

  app.post('/resync', {
    onRequest: admin,
    schema: { tags: ['align'], response: { 200: ResyncView, ...connectionErrors } },
  }, async (request) => {
    const { run, counts } = await resyncCompany(context(request.log), request.auth)
    request.log.info({ runId: run.id, rows: run.total }, 'Align resync enqueued')
    return { run: await loadSyncRunView(options.db, run), counts }
  })
}
