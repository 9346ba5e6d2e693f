import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { ConfigError } from '@illumera/service-kit'
import { createTenantWithCompany, useTestDatabase } from '@illumera/test-harness'
import { generateKeyPair, importPKCS8, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AuthContext, cacheVerifiedTokens, createTokenVerifier, TokenRejectedError } from '../src/auth/verify-token.js'
import { loadConfig } from '../src/config.js'
import { DEV_KEY_ALGORITHM, ensureDevKeyPair } from '../src/dev-keys.js'
import { createTestApp, type TestApp } from './helpers/app.js'

const t = useTestDatabase()
let h: TestApp

beforeAll(async () => {
  h = await createTestApp(t.db)
})

const claims = { tenant_id: 'tenant-auth', company_id: 'company-auth', role: 'company_admin' }

describe('bearer tokens', () => {
  it('401 for a missing, malformed, expired or forged token; 401 for a bad role claim', async () => {
    const get = (authorization?: string) => h.app.inject({ method: 'GET', url: '/api/projects', ...(authorization ? { headers: { authorization } } : {}) })
    expect((await get()).json().message).toContain('bearer token is required')
    expect((await get('Basic abc')).statusCode).toBe(401)
    const expired = await h.auth.token({ tenantId: 'x', companyId: 'y', role: 'company_admin' }, { expiresIn: Math.floor(Date.now() / 1000) - 60 })
    const res = await get(`Bearer ${expired}`)
    expect(res.statusCode).toBe(401)
    expect(res.json().message).toBe('the token has expired')

    const { privateKey } = await generateKeyPair('ES256')
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256' }).setSubject('u').setExpirationTime('1h').sign(privateKey)
    expect((await get(`Bearer ${forged}`)).json()).toMatchObject({ statusCode: 401, message: 'the token is invalid' })
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ ...claims, sub: 'u' })).toString('base64url')}.`
    expect((await get(`Bearer ${unsigned}`)).statusCode).toBe(401)

    const { privateKey: pk2, publicKey: pub2 } = await generateKeyPair('ES256')
    const verify = createTokenVerifier({ publicKey: pub2, algorithms: ['ES256'] })
    const badRole = await new SignJWT({ ...claims, role: 'root' }).setProtectedHeader({ alg: 'ES256' }).setSubject('u').setExpirationTime('1h').sign(pk2)
    await expect(verify(badRole)).rejects.toThrow('role must be one of')
    const noTenant = await new SignJWT({ company_id: 'c', role: 'talent' }).setProtectedHeader({ alg: 'ES256' }).setSubject('u').setExpirationTime('1h').sign(pk2)
    await expect(verify(noTenant)).rejects.toThrow('tenant_id')
  })

  it('checks issuer and audience when configured', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256')
    const verify = createTokenVerifier({ publicKey, algorithms: ['RS256'], issuer: 'https://id.example', audience: 'illumera-api' })
    const sign = (iss: string) => new SignJWT(claims).setProtectedHeader({ alg: 'RS256' }).setSubject('u').setIssuer(iss).setAudience('illumera-api').setExpirationTime('1h').sign(privateKey)
    await expect(verify(await sign('https://id.example'))).resolves.toMatchObject({ userId: 'u', tenantId: 'tenant-auth', role: 'company_admin' })
    await expect(verify(await sign('https://evil.example'))).rejects.toThrow('invalid')
  })

  it('creates the tenant and company named by a verified token on first use', async () => {
    const headers = await h.headers({ tenantId: 'tenant-new', companyId: 'company-new', role: 'company_admin' })
    const res = await h.app.inject({ method: 'POST', url: '/api/projects', headers, payload: { name: 'First' } })
    expect(res.statusCode).toBe(201)
    expect(await t.db.selectFrom('company_profiles').select(['id', 'tenant_id']).where('id', '=', 'company-new').execute()).toEqual([{ id: 'company-new', tenant_id: 'tenant-new' }])
    expect((await h.app.inject({ method: 'GET', url: '/api/projects', headers })).json().data).toHaveLength(1)
  })

  it('remembers companies it has created, yet still creates a new tenant and company, and a new company of a known tenant', async () => {
    const first = { tenantId: 'tenant-cache-a', companyId: 'company-cache-a', role: 'company_admin' as const }
    for (let i = 0; i < 2; i++) {
      expect((await h.app.inject({ method: 'GET', url: '/api/projects', headers: await h.headers(first) })).statusCode).toBe(200)
    }
    const second = { tenantId: 'tenant-cache-b', companyId: 'company-cache-b', role: 'company_admin' as const }
    const sibling = { tenantId: 'tenant-cache-a', companyId: 'company-cache-a2', role: 'company_admin' as const }
    for (const principal of [second, sibling]) {
      expect((await h.app.inject({ method: 'POST', url: '/api/projects', headers: await h.headers(principal), payload: { name: 'P' } })).statusCode).toBe(201)
    }
    expect(await t.db.selectFrom('company_profiles').select(['id', 'tenant_id']).where('id', 'like', 'company-cache-%').orderBy('id').execute()).toEqual([
      { id: 'company-cache-a', tenant_id: 'tenant-cache-a' },
      { id: 'company-cache-a2', tenant_id: 'tenant-cache-a' },
      { id: 'company-cache-b', tenant_id: 'tenant-cache-b' },
    ])
    expect(await t.db.selectFrom('tenants').select('id').where('id', 'like', 'tenant-cache-%').orderBy('id').execute()).toEqual([{ id: 'tenant-cache-a' }, { id: 'tenant-cache-b' }])
  })

  it('refuses a token that names a company of another tenant', async () => {
    const { company } = await createTenantWithCompany(t.db)
    const res = await h.app.inject({ method: 'GET', url: '/api/projects', headers: await h.headers({ tenantId: 'tenant-other', companyId: company.id, role: 'company_admin' }) })
    expect(res.statusCode).toBe(403)
    expect(res.json().message).toContain('another tenant')
  })
})

describe('verified-token cache', () => {
  const auth: AuthContext = { userId: 'u', tenantId: 't', companyId: 'c', role: 'talent' }
  function counting(expiresAtMs?: number) {
    const seen: string[] = []
    const verify = async (token: string) => {
      seen.push(token)
      if (token.startsWith('bad')) throw new TokenRejectedError('the token is invalid')
      return { auth, expiresAtMs }
    }
    return { seen, verify }
  }

  it('checks a token once within the TTL, again after it; never caches a refusal', async () => {
    let clock = 1_000_000
    const inner = counting()
    const verify = cacheVerifiedTokens(inner.verify, { ttlMs: 60_000, now: () => clock })
    await verify('a'); await verify('a'); clock += 59_999; await verify('a')
    expect(inner.seen).toEqual(['a'])
    clock += 1
    await expect(verify('a')).resolves.toEqual(auth)
    expect(inner.seen).toEqual(['a', 'a'])
    await expect(verify('bad')).rejects.toThrow('the token is invalid')
    await expect(verify('bad')).rejects.toThrow('the token is invalid')
    expect(inner.seen.filter((t) => t === 'bad')).toHaveLength(2)
  })

  it('never serves a token past its exp, and forgets the oldest beyond maxEntries', async () => {
    let clock = 1_000_000
    const inner = counting(1_000_500)
    const verify = cacheVerifiedTokens(inner.verify, { ttlMs: 60_000, maxEntries: 2, now: () => clock })
    await verify('a'); clock = 1_000_500; await verify('a')
    expect(inner.seen).toEqual(['a', 'a'])
    const fresh = counting()
    const small = cacheVerifiedTokens(fresh.verify, { ttlMs: 60_000, maxEntries: 2, now: () => clock })
    await small('x'); await small('y'); await small('z'); await small('y'); await small('x')
    expect(fresh.seen).toEqual(['x', 'y', 'z', 'x'])
  })

  it('a cached caller cannot change what the next caller gets', async () => {
    const verify = cacheVerifiedTokens(counting().verify)
    const first = await verify('a')
    first.role = 'platform_admin'
    expect((await verify('a')).role).toBe('talent')
  })

  it('a real token is rejected once it expires, though it was verified (and cached) before', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256')
    const verify = createTokenVerifier({ publicKey, algorithms: ['ES256'] })
    const exp = Math.floor(Date.now() / 1000) + 1
    const token = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256' }).setSubject('u').setExpirationTime(exp).sign(privateKey)
    await expect(verify(token)).resolves.toMatchObject({ userId: 'u' })
    await new Promise((resolve) => setTimeout(resolve, exp * 1000 - Date.now() + 50))
    await expect(verify(token)).rejects.toThrow('the token has expired')
  })
})

describe('development keys', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'dev-auth-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('are generated once and sign tokens the verifier accepts', async () => {
    const first = await ensureDevKeyPair(dir)
    const second = await ensureDevKeyPair(dir)
    expect(second).toEqual(first)
    const key = await importPKCS8(first.privateKeyPem, DEV_KEY_ALGORITHM)
    const token = await new SignJWT(claims).setProtectedHeader({ alg: DEV_KEY_ALGORITHM }).setSubject('dev').setExpirationTime('1h').sign(key)
    await expect(createTokenVerifier({ publicKey: first.publicKeyPem, algorithms: [DEV_KEY_ALGORITHM] })(token)).resolves.toMatchObject({ userId: 'dev' })
  })
})

describe('config', () => {
  const base = {
    DATABASE_URL: 'postgres://localhost/x', ALIGN_ENCRYPTION_KEY: 'a'.repeat(64), ALIGN_WEBHOOK_BASE_URL: 'https://hooks.example/',
  }
  it('production requires AUTH_PUBLIC_KEY or AUTH_JWKS_URL and never accepts the dev keys', () => {
    expect(() => loadConfig({ ...base, NODE_ENV: 'production', AUTH_DEV_KEYS: '1' })).toThrow(ConfigError)
    expect(() => loadConfig({ ...base, NODE_ENV: 'production', AUTH_DEV_KEYS: '1' })).toThrow(/^AUTH_PUBLIC_KEY: required/)
    const prod = loadConfig({ ...base, NODE_ENV: 'production', AUTH_DEV_KEYS: '1', AUTH_JWKS_URL: 'https://id.example/jwks' })
    expect(prod.config.auth.devKeys).toBe(false)
    const dev = loadConfig({ ...base, AUTH_DEV_KEYS: '1' })
    expect(dev.config).toMatchObject({ port: 3000, alignWebhookBaseUrl: 'https://hooks.example', webhookSecretGraceSeconds: 600, auth: { devKeys: true } })
    expect(JSON.stringify(dev.config)).not.toContain('a'.repeat(64))
  })

  it('names the bad variable, never its value', () => {
    expect(() => loadConfig({ ...base, AUTH_DEV_KEYS: '1', ALIGN_ENCRYPTION_KEY: 'secret-value' })).toThrow(/^ALIGN_ENCRYPTION_KEY: invalid value/)
    try {
      loadConfig({ ...base, AUTH_DEV_KEYS: '1', ALIGN_ENCRYPTION_KEY: 'secret-value' })
    } catch (err) {
      expect((err as Error).message).not.toContain('secret-value')
    }
    expect(() => loadConfig({ ...base, AUTH_DEV_KEYS: '1', AUTH_ALGORITHMS: 'HS256' })).toThrow(/^AUTH_ALGORITHMS/)
  })

  it('DB_POOL_SIZE sets the pool size (default 10) and must be a positive integer', () => {
    expect(loadConfig({ ...base, AUTH_DEV_KEYS: '1' }).config.dbPoolSize).toBe(10)
    expect(loadConfig({ ...base, AUTH_DEV_KEYS: '1', DB_POOL_SIZE: '20' }).config.dbPoolSize).toBe(20)
    expect(() => loadConfig({ ...base, AUTH_DEV_KEYS: '1', DB_POOL_SIZE: '0' })).toThrow(/^DB_POOL_SIZE/)
    expect(() => loadConfig({ ...base, AUTH_DEV_KEYS: '1', DB_POOL_SIZE: 'many' })).toThrow(/^DB_POOL_SIZE/)
  })

  it('ALIGN_KEY_MAX_AGE_DAYS sets the key-rotation threshold (default 80) and must be a positive number of days', () => {
    expect(loadConfig({ ...base, AUTH_DEV_KEYS: '1' }).config.alignKeyMaxAgeDays).toBe(80)
    expect(loadConfig({ ...base, AUTH_DEV_KEYS: '1', ALIGN_KEY_MAX_AGE_DAYS: '45' }).config.alignKeyMaxAgeDays).toBe(45)
    expect(() => loadConfig({ ...base, AUTH_DEV_KEYS: '1', ALIGN_KEY_MAX_AGE_DAYS: '0' })).toThrow(/^ALIGN_KEY_MAX_AGE_DAYS/)
    expect(() => loadConfig({ ...base, AUTH_DEV_KEYS: '1', ALIGN_KEY_MAX_AGE_DAYS: 'ninety' })).toThrow(/^ALIGN_KEY_MAX_AGE_DAYS/)
  })
})
