// Bearer token verification. A token is an RS256/ES256 JWT from the identity provider (or, in
// development, from `pnpm dev:token`); its claims name the user, tenant, company and role.
import { createPublicKey, type KeyObject } from 'node:crypto'
import { createRemoteJWKSet, type CryptoKey, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose'

export const ROLES = ['talent', 'company_admin', 'platform_admin'] as const
export type Role = (typeof ROLES)[number]

export interface AuthContext {
  userId: string
  tenantId: string
  companyId: string
  role: Role
}

/** Why a token was refused; the message is safe to return (it never echoes the token). */
export class TokenRejectedError extends Error {
  override name = 'TokenRejectedError'
}

export interface TokenVerifierOptions {
  /** A public key (jose CryptoKey, node KeyObject or SPKI PEM). One of publicKey / jwksUrl is required. */
  publicKey?: CryptoKey | KeyObject | string | undefined
  jwksUrl?: string | undefined
  /** Default ['ES256', 'RS256']. */
  algorithms?: string[] | undefined
  issuer?: string | undefined
  audience?: string | undefined
  /**
   * Verified tokens are remembered (by their exact text) for at most this long, and never past their `exp`:
   * checking an ES256/RS256 signature costs more CPU than the rest of a typical request (see
   * cacheVerifiedTokens). Default 60 s; 0 turns the cache off. A key removed from the JWKS stops being
   * trusted once the cached entries lapse.
   */
  cacheTtlMs?: number
  /** At most this many tokens are remembered (the oldest go first). Default 10,000. */
  cacheMaxEntries?: number
}

export type TokenVerifier = (token: string) => Promise<AuthContext>

function claim(payload: JWTPayload, name: string): string {
  const value = payload[name]
  if (typeof value !== 'string' || value.length === 0 || value.length > 200) throw new TokenRejectedError(`token claim ${name} is missing or not a string`)
  return value
}

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const key =
    typeof options.publicKey === 'string' ? createPublicKey(options.publicKey)
    : options.publicKey ?? (options.jwksUrl ? createRemoteJWKSet(new URL(options.jwksUrl)) : undefined)
  if (!key) throw new Error('createTokenVerifier: publicKey or jwksUrl is required')
  const verifyOptions = {
    algorithms: options.algorithms ?? ['ES256', 'RS256'],
    ...(options.issuer ? { issuer: options.issuer } : {}),
    ...(options.audience ? { audience: options.audience } : {}),
  }
  const verifySignature = async (token: string): Promise<VerifiedToken> => {
    let payload: JWTPayload
    try {
      // jwtVerify takes either a key or a JWKS resolver; both branches are the same call.
      payload = (typeof key === 'function' ? await jwtVerify(token, key, verifyOptions) : await jwtVerify(token, key, verifyOptions)).payload
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new TokenRejectedError('the token has expired')
      if (err instanceof joseErrors.JOSEError) throw new TokenRejectedError('the token is invalid')
      throw err
    }
    const role = claim(payload, 'role')
    if (!(ROLES as readonly string[]).includes(role)) throw new TokenRejectedError(`token claim role must be one of ${ROLES.join(', ')}`)
    const auth = { userId: claim(payload, 'sub'), tenantId: claim(payload, 'tenant_id'), companyId: claim(payload, 'company_id'), role: role as Role }
    return { auth, expiresAtMs: typeof payload.exp === 'number' ? payload.exp * 1000 : undefined }
  }
  return cacheVerifiedTokens(verifySignature, { ttlMs: options.cacheTtlMs, maxEntries: options.cacheMaxEntries })
}

export interface VerifiedToken {
  auth: AuthContext
  /** The token's `exp`, when it has one. */
  expiresAtMs: number | undefined
}

/**
 * Remembers successful verifications by the token's exact text for at most `ttlMs` (default 60 s) and never
 * past the token's expiry; at most `maxEntries` (default 10,000; the oldest go first). A refused token is
 * checked in full every time. `ttlMs: 0` turns it off.
 */
export function cacheVerifiedTokens(
  verify: (token: string) => Promise<VerifiedToken>,
  options: { ttlMs?: number | undefined; maxEntries?: number | undefined; now?: () => number } = {},
): TokenVerifier {
  const ttlMs = options.ttlMs ?? 60_000
  const maxEntries = options.maxEntries ?? 10_000
  const now = options.now ?? Date.now
  const verified = new Map<string, { auth: AuthContext; validUntilMs: number }>()

  return async (token) => {
    const at = now()
    const cached = verified.get(token)
    if (cached && at < cached.validUntilMs) return { ...cached.auth }
    if (cached) verified.delete(token)
    const { auth, expiresAtMs } = await verify(token)
    if (ttlMs > 0) {
      if (verified.size >= maxEntries) verified.delete(verified.keys().next().value!)
      verified.set(token, { auth, validUntilMs: Math.min(at + ttlMs, expiresAtMs ?? Infinity) })
    }
    return { ...auth }
  }
}
