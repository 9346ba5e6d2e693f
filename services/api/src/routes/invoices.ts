import type { Database } from '@illumera/db-schema'
import { notFound } from '@illumera/service-kit'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { Kysely } from 'kysely'
import { authErrors, Timestamp } from '../http/schemas.js'
import { findEngagementInCompany, insertInvoice } from '../invoices/invoices.queries.js'

const CreateInvoiceBody = Type.Object({
  engagementId: Type.String({ minLength: 1, maxLength: 100 }),
  amountCents: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
}, { additionalProperties: false })

const InvoiceView = Type.Object({
  id: Type.String(),
  engagementId: Type.String(),
  projectId: Type.String(),
  amountCents: Type.Integer(),
  createdAt: Timestamp,
})

// Invoices feed reconciliation (approved cost per project); they are not synced to Align.
export const invoiceRoutes: FastifyPluginAsyncTypebox<{ db: Kysely<Database> }> = async (app, { db }) => {
  app.post('', {
    onRequest: app.requireRole('company_admin'),
    schema: { tags: ['invoices'], body: CreateInvoiceBody, response: { 201: InvoiceView, ...authErrors } },
  }, async (request, reply) => {
    const engagement = await findEngagementInCompany(db, request.auth, request.body.engagementId)
    if (!engagement) throw notFound('engagement', request.body.engagementId)
    const invoice = await insertInvoice(db, {
      tenant_id: request.auth.tenantId, company_id: request.auth.companyId, engagement_id: engagement.id, amount_cents: request.body.amountCents,
    })
    return reply.code(201).send({
      id: invoice.id, engagementId: invoice.engagement_id, projectId: engagement.project_id,
      amountCents: Number(invoice.amount_cents), createdAt: invoice.created_at.toISOString(),
    })
  })
}
