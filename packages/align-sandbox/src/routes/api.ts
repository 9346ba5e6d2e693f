// The Align REST API. Every request passes, in order: authentication (401), the sliding-window
// rate limit (429, headers on every answer), the key's scope (403), injected failures, body
// validation (400), then `respond`: Idempotency-Key (replay / 422 / 409), injected latency, the
// operation, storing the response for its key, and the commit-then-drop fault.
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { SandboxAppDeps } from '../app.js'
import { checkInput } from '../control.js'
import { SandboxError } from '../errors.js'
import { canonicalJson } from '../idempotency.js'
import {
  AddMemberBody,
  BulkInviteBody,
  CreateProjectBody,
  CreateTimeEntryBody,
  CreateWebhookBody,
  CreateWikiPageBody,
  IntegrationLinksQuery,
  InviteUserBody,
  TimeSummaryQuery,
  UpdateProjectBody,
  UpdateTimeEntryBody,
  UpdateUserBody,
  UpdateWikiPageBody,
} from '../schemas.js'
import type { ApiKeyRecord } from '../store.js'

declare module 'fastify' {
  interface FastifyRequest {
    alignKey: ApiKeyRecord | null
  }
}

interface Outcome {
  status: number
  body?: unknown
}

const IdParams = Type.Object({ id: Type.String({ minLength: 1 }) })
const MemberParams = Type.Object({ id: Type.String({ minLength: 1 }), userId: Type.String({ minLength: 1 }) })
const WRITE_METHODS = new Set(['POST', 'PATCH', 'DELETE'])
const PREFIX = '/api/v1'

function keyOf(request: FastifyRequest): ApiKeyRecord {
  // Set by the onRequest hook for every route of this plugin.
  return request.alignKey!
}

/** Project-scoped keys reach `/me` and `/projects/:scopedProjectId[/*]` only. */
function scopeAllows(key: ApiKeyRecord, url: string): boolean {
  if (key.scope === 'organization') return true
  const path = url.slice(PREFIX.length).split('?')[0]!
  if (path === '/me') return true
  const base = `/projects/${key.scopedProjectId}`
  return path === base || path.startsWith(`${base}/`)
}

export const alignApiRoutes: FastifyPluginAsyncTypebox<SandboxAppDeps> = async (app, deps) => {
  const { store, faults, idempotency, rateLimiter } = deps
  app.decorateRequest('alignKey', null)

  app.addHook('onRequest', async (request, reply) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')
    if (!match) throw new SandboxError(401, 'unauthorized', 'Authorization: Bearer <apiKey> header is missing or malformed')
    const key = store.authenticate(match[1]!)
    if (!key) throw new SandboxError(401, 'unauthorized', 'API key is unknown or revoked')
    request.alignKey = key

    const limit = faults.current.rateLimitPerMinute ?? deps.rateLimitPerMinute
    if (limit) {
      const decision = rateLimiter.take(key.id, limit, Date.now())
      reply.header('x-ratelimit-limit', String(decision.limit))
      reply.header('x-ratelimit-remaining', String(decision.remaining))
      reply.header('x-ratelimit-reset', String(decision.resetAt))
      if (!decision.allowed) {
        reply.header('retry-after', String(decision.retryAfter))
        throw new SandboxError(429, 'rate_limited', `rate limit of ${decision.limit} requests per minute exceeded; retry after ${decision.retryAfter} s`)
      }
    }

    if (!scopeAllows(key, request.url)) {
      throw new SandboxError(403, 'forbidden', `this API key is scoped to project ${key.scopedProjectId}; it may call /me and /projects/${key.scopedProjectId}/* only`)
    }

    const injected = faults.takeInjectedFailure()
    if (injected) throw injected
  })

  /** Runs a write or read with Idempotency-Key handling, latency and the drop fault. */
  async function respond(request: FastifyRequest, reply: FastifyReply, operation: () => Outcome): Promise<FastifyReply | void> {
    const organizationId = keyOf(request).organizationId
    const rawKey = request.headers['idempotency-key']
    const idempotencyKey = WRITE_METHODS.has(request.method) && typeof rawKey === 'string' ? rawKey : undefined
    if (idempotencyKey !== undefined) {
      if (idempotencyKey.length === 0 || idempotencyKey.length > 255) {
        throw new SandboxError(400, 'validation_error', 'Idempotency-Key: must be 1 to 255 characters', 'Idempotency-Key')
      }
      const fingerprint = canonicalJson({ method: request.method, path: request.url, body: request.body ?? null })
      const found = idempotency.begin(organizationId, idempotencyKey, fingerprint, Date.now())
      if (found.kind === 'mismatch') {
        throw new SandboxError(422, 'idempotency_key_reused', 'Idempotency-Key was already used with a different method, path or body')
      }
      if (found.kind === 'in_flight') {
        throw new SandboxError(409, 'idempotency_key_in_use', 'a request with this Idempotency-Key is still being processed; retry later')
      }
      if (found.kind === 'replay') {
        reply.code(found.status).header('idempotent-replayed', 'true')
        if (found.body === '') return reply.send()
        return reply.header('content-type', 'application/json; charset=utf-8').send(found.body)
      }
    }

    let outcome: Outcome
    let body: string
    try {
      const latency = faults.current.latencyMs
      if (latency > 0) {
        try {
          await sleep(latency, undefined, { signal: deps.shutdown })
        } catch {
          throw new SandboxError(503, 'internal_error', 'the sandbox is shutting down')
        }
      }
      outcome = operation()
      body = outcome.body === undefined ? '' : JSON.stringify(outcome.body)
    } catch (err) {
      if (idempotencyKey !== undefined) idempotency.release(organizationId, idempotencyKey)
      throw err
    }
    if (idempotencyKey !== undefined) idempotency.complete(organizationId, idempotencyKey, outcome.status, body)

    if (WRITE_METHODS.has(request.method) && faults.chance(faults.current.dropAfterCommitRate)) {
      // The write is persisted (and its response stored under the key); the caller never hears.
      request.log.info({ requestId: request.id }, 'fault: dropping the connection after commit')
      reply.hijack()
      request.raw.socket.destroy()
      return
    }
    reply.code(outcome.status)
    if (body === '') return reply.send()
    return reply.header('content-type', 'application/json; charset=utf-8').send(body)
  }

  app.get('/me', async (request, reply) => respond(request, reply, () => ({ status: 200, body: store.me(keyOf(request)) })))

  // ─── users ───
  app.post('/users/invite', { schema: { body: InviteUserBody } }, async (request, reply) =>
    respond(request, reply, () => {
      const { result, created } = store.inviteUser(keyOf(request).organizationId, request.body)
      return { status: created ? 201 : 200, body: result }
    }),
  )

  app.post('/users/bulk-invite', { schema: { body: BulkInviteBody } }, async (request, reply) =>
    respond(request, reply, () => ({
      status: 200,
      body: store.bulkInvite(keyOf(request).organizationId, request.body.invites, (invite) => {
        try {
          checkInput(InviteUserBody, invite)
          return null
        } catch (err) {
          const e = err as SandboxError
          return { field: e.field ?? 'invite', message: e.message }
        }
      }),
    })),
  )

  app.get('/users/:id', { schema: { params: IdParams } }, async (request, reply) =>
    respond(request, reply, () => ({ status: 200, body: store.getUser(keyOf(request).organizationId, request.params.id) })),
  )

  app.patch('/users/:id', { schema: { params: IdParams, body: UpdateUserBody } }, async (request, reply) =>
    respond(request, reply, () => ({ status: 200, body: store.updateUser(keyOf(request).organizationId, request.params.id, request.body) })),
  )

  // ─── projects and members ───
  app.post('/projects', { schema: { body: CreateProjectBody } }, async (request, reply) =>
    respond(request, reply, () => ({ status: 201, body: store.createProject(keyOf(request).organizationId, request.body) })),
  )

  app.patch('/projects/:id', { schema: { params: IdParams, body: UpdateProjectBody } }, async (request, reply) =>
    respond(request, reply, () => ({ status: 200, body: store.updateProject(keyOf(request).organizationId, request.params.id, request.body) })),
  )

  // The body is optional, so it is checked here rather than by a route schema.
  app.post('/projects/:id/members/:userId', { schema: { params: MemberParams } }, async (request, reply) =>
    respond(request, reply, () => {
      const input = checkInput(AddMemberBody, request.body ?? {})
      const { member, created } = store.addMember(keyOf(request).organizationId, request.params.id, request.params.userId, input)
      return { status: created ? 201 : 200, body: member }
    }),
  )

  app.delete('/projects/:id/members/:userId', { schema: { params: MemberParams } }, async (request, reply) =>
    respond(request, reply, () => {
      store.removeMember(keyOf(request).organizationId, request.params.id, request.params.userId)
      return { status: 204 }
    }),
  )

  // ─── time entries ───
  app.post('/projects/:id/time-entries', { schema: { params: IdParams, body: CreateTimeEntryBody } }, async (request, reply) =>
    respond(request, reply, () => ({ status: 201, body: store.createTimeEntry(keyOf(request).organizationId, request.params.id, request.body) })),
  )

  app.patch('/time-entries/:id', { schema: { params: IdParams, body: UpdateTimeEntryBody } }, async (request, reply) =>
    respond(request, reply, () => ({ status: 200, body: store.updateTimeEntry(keyOf(request).organizationId, request.params.id, request.body) })),
  )

  app.post('/time-entries/:id/submit', { schema: { params: IdParams } }, async (request, reply) =>
    respond(request, reply, () => ({ status: 200, body: store.submitTimeEntry(keyOf(request).organizationId, request.params.id) })),
  )

  app.post('/time-entries/:id/unlock', { schema: { params: IdParams } }, async (request, reply) =>
    respond(request, reply, () => ({ status: 200, body: store.unlockTimeEntry(keyOf(request).organizationId, request.params.id) })),
  )

  app.delete('/time-entries/:id', { schema: { params: IdParams } }, async (request, reply) =>
    respond(request, reply, () => {
      store.deleteTimeEntry(keyOf(request).organizationId, request.params.id)
      return { status: 204 }
    }),
  )

  app.get('/projects/:id/time-summary', { schema: { params: IdParams, querystring: TimeSummaryQuery } }, async (request, reply) =>
    respond(request, reply, () => ({ status: 200, body: store.timeSummary(keyOf(request).organizationId, request.params.id, request.query.status) })),
  )

  app.get('/projects/:id/cost-summary', { schema: { params: IdParams } }, async (request, reply) =>
    respond(request, reply, () => ({ status: 200, body: store.costSummary(keyOf(request).organizationId, request.params.id) })),
  )

  // ─── wiki pages ───
  app.post('/projects/:id/wiki-pages', { schema: { params: IdParams, body: CreateWikiPageBody } }, async (request, reply) =>
    respond(request, reply, () => ({ status: 201, body: store.createWikiPage(keyOf(request).organizationId, request.params.id, request.body) })),
  )

  app.patch('/wiki-pages/:id', { schema: { params: IdParams, body: UpdateWikiPageBody } }, async (request, reply) =>
    respond(request, reply, () => ({ status: 200, body: store.updateWikiPage(keyOf(request).organizationId, request.params.id, request.body) })),
  )

  // ─── webhooks and integration links ───
  app.post('/webhooks', { schema: { body: CreateWebhookBody } }, async (request, reply) =>
    respond(request, reply, () => ({ status: 201, body: store.createWebhook(keyOf(request).organizationId, request.body) })),
  )

  app.get('/webhooks', async (request, reply) =>
    respond(request, reply, () => ({ status: 200, body: { data: store.listWebhooks(keyOf(request).organizationId) } })),
  )

  app.delete('/webhooks/:id', { schema: { params: IdParams } }, async (request, reply) =>
    respond(request, reply, () => {
      store.deleteWebhook(keyOf(request).organizationId, request.params.id)
      return { status: 204 }
    }),
  )

  app.get('/integration-links', { schema: { querystring: IntegrationLinksQuery } }, async (request, reply) =>
    respond(request, reply, () => {
      const { page = 1, pageSize = 100, externalType, externalId } = request.query
      const filter: { externalType?: string; externalId?: string } = {}
      if (externalType !== undefined) filter.externalType = externalType
      if (externalId !== undefined) filter.externalId = externalId
      return { status: 200, body: store.integrationLinks(keyOf(request).organizationId, page, pageSize, filter) }
    }),
  )
}
