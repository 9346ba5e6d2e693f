// The control API over HTTP (/_sandbox/*): each route calls the SandboxControl method of the
// same name, so a test in another process drives the sandbox exactly as one in process does.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { checkInput, type SandboxControl } from '../control.js'
import { CreateKeyBody, CreateOrgBody, EditTimeEntryBody, LogTimeEntryBody, MemberRateBody, PlannedCostBody, RejectBody } from '../schemas.js'

const IdParams = Type.Object({ id: Type.String({ minLength: 1 }) })
const OrgParams = Type.Object({ orgId: Type.String({ minLength: 1 }) })

export const controlRoutes: FastifyPluginAsyncTypebox<{ control: SandboxControl }> = async (app, { control }) => {
  // The body is optional, so it is checked here rather than by a route schema.
  app.post('/orgs', async (request, reply) => {
    const { name } = checkInput(CreateOrgBody, request.body ?? {})
    return reply.code(201).send(await control.createOrg(name === undefined ? {} : { name }))
  })

  app.post('/orgs/:orgId/keys', { schema: { params: OrgParams, body: CreateKeyBody } }, async (request, reply) =>
    reply.code(201).send(await control.createKey(request.params.orgId, request.body)),
  )

  app.delete('/keys/:apiKey', { schema: { params: Type.Object({ apiKey: Type.String({ minLength: 1 }) }) } }, async (request, reply) => {
    await control.revokeKey(request.params.apiKey)
    return reply.code(204).send()
  })

  app.post('/time-entries/:id/approve', { schema: { params: IdParams } }, async (request) => control.approve(request.params.id))
  app.post('/time-entries/:id/reject', { schema: { params: IdParams, body: RejectBody } }, async (request) =>
    control.reject(request.params.id, request.body.reason),
  )
  app.post('/time-entries/:id/lock', { schema: { params: IdParams } }, async (request) => control.lock(request.params.id))
  app.post('/time-entries/:id/invoice', { schema: { params: IdParams } }, async (request) => control.invoice(request.params.id))
  app.post('/time-entries/:id/unlock', { schema: { params: IdParams } }, async (request) => control.unlock(request.params.id))
  app.post('/time-entries/:id/delete', { schema: { params: IdParams } }, async (request) => control.delete(request.params.id))
  app.patch('/time-entries/:id', { schema: { params: IdParams, body: EditTimeEntryBody } }, async (request) =>
    control.editTimeEntry(request.params.id, request.body),
  )

  app.post('/projects/:id/delete', { schema: { params: IdParams } }, async (request) => control.deleteProject(request.params.id))
  app.post('/users/:id/delete', { schema: { params: IdParams } }, async (request) => control.deleteUser(request.params.id))
  app.post('/wiki-pages/:id/delete', { schema: { params: IdParams } }, async (request) => control.deleteWikiPage(request.params.id))
  app.delete('/integration-links/:id', { schema: { params: IdParams } }, async (request) => control.removeIntegrationLink(request.params.id))

  app.post('/orgs/:orgId/time-entries', { schema: { params: OrgParams, body: LogTimeEntryBody } }, async (request, reply) =>
    reply.code(201).send(await control.logTimeEntry(request.params.orgId, request.body)),
  )

  app.post('/projects/:id/invoices', { schema: { params: IdParams } }, async (request, reply) =>
    reply.code(201).send(await control.finalizeInvoice(request.params.id)),
  )
  app.post('/invoices/:id/pay', { schema: { params: IdParams } }, async (request) => control.payInvoice(request.params.id))
  app.post('/users/:id/activate', { schema: { params: IdParams } }, async (request) => control.activateUser(request.params.id))

  app.put(
    '/projects/:id/members/:userId/rate',
    { schema: { params: Type.Object({ id: Type.String({ minLength: 1 }), userId: Type.String({ minLength: 1 }) }), body: MemberRateBody } },
    async (request) => control.setMemberRate(request.params.id, request.params.userId, request.body.hourlyRateCents),
  )

  app.put('/projects/:id/planned-cost', { schema: { params: IdParams, body: PlannedCostBody } }, async (request) =>
    control.setPlannedCost(request.params.id, request.body.plannedCostCents),
  )

  app.get('/orgs/:orgId/state', { schema: { params: OrgParams } }, async (request) => control.state(request.params.orgId))

  app.get('/deliveries', { schema: { querystring: Type.Object({ organizationId: Type.Optional(Type.String({ minLength: 1 })) }) } }, async (request) => ({
    data: await control.deliveries(request.query.organizationId),
  }))

  /** Answers once no webhook delivery is pending or in flight (the HTTP form of settled()). */
  app.post('/deliveries/settle', async (_request, reply) => {
    await control.settled()
    return reply.code(204).send()
  })

  app.post('/reset', async (_request, reply) => {
    await control.reset()
    return reply.code(204).send()
  })

  app.get('/faults', async () => control.faults())
  // Validated by FaultState (it names the bad field), so partial settings merge.
  app.post('/faults', async (request) => control.setFaults((request.body ?? {}) as Record<string, unknown>))
  app.delete('/faults', async (_request, reply) => {
    await control.clearFaults()
    return reply.code(204).send()
  })
}
