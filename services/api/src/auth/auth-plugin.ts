// Authentication and role checks. Routes opt in with `onRequest: app.requireRole(...)`, which runs
// before the body is parsed or validated, so an unauthenticated request is a 401 whatever its body.
import type { Database } from '@illumera/db-schema'
import { forbidden, unauthorized } from '@illumera/service-kit'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'
import { findCompanyTenant, upsertTenantAndCompany } from './auth.queries.js'
import { type AuthContext, type Role, TokenRejectedError, type TokenVerifier } from './verify-token.js'

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthContext
  }
  interface FastifyInstance {
    requireRole(...roles: Role[]): (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  }
}

export interface AuthPluginOptions {
  db: Kysely<Database>
  verifyToken: TokenVerifier
}

export const authPlugin = fp<AuthPluginOptions>(
  async (app: FastifyInstance, { db, verifyToken }) => {
    // Rows never get deleted, so "this company exists" can be remembered; a miss costs two idempotent inserts.
    // By tenant, then company: the ids are the same strings as the cached token's, so no key is built per request.
    const knownCompanies = new Map<string, Set<string>>()

    app.decorateRequest('auth', null as unknown as AuthContext)
    app.decorate('requireRole', (...roles: Role[]) => async (request: FastifyRequest) => {
      const header = request.headers.authorization
      const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null
      if (!match) throw unauthorized('a bearer token is required (Authorization: Bearer <token>)')
      let auth: AuthContext
      try {
        auth = await verifyToken(match[1]!)
      } catch (err) {
        if (err instanceof TokenRejectedError) throw unauthorized(err.message)
        throw err
      }
      if (!roles.includes(auth.role)) throw forbidden(`role ${auth.role} may not do this (allowed: ${roles.join(', ')})`)
      if (!knownCompanies.get(auth.tenantId)?.has(auth.companyId)) {
        await upsertTenantAndCompany(db, auth.tenantId, auth.companyId)
        // A company id that already belongs to another tenant is a token we must not honour.
        if ((await findCompanyTenant(db, auth.companyId)) !== auth.tenantId) throw forbidden('the token names a company of another tenant')
        let companies = knownCompanies.get(auth.tenantId)
        if (!companies) knownCompanies.set(auth.tenantId, (companies = new Set()))
        companies.add(auth.companyId)
      }
      request.auth = auth
    })
  },
  { name: 'auth' },
)
