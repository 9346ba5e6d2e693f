// Test wiring: a real app on this file's database, tokens signed by a key pair made here, and a log
// capture that tests can search for secrets.
import { randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import type { Database } from '@illumera/db-schema'
import { createLogger, SecretBox } from '@illumera/service-kit'
import { generateKeyPair, SignJWT } from 'jose'
import type { Kysely } from 'kysely'
import { type AlignSettings, type App, buildApp } from '../../src/app.js'
import { createTokenVerifier, type Role } from '../../src/auth/verify-token.js'

export interface Principal {
  tenantId: string
  companyId: string
  role: Role
  userId?: string
}

export interface TestAuth {
  token(principal: Principal, options?: { expiresIn?: string | number }): Promise<string>
  verifyToken: ReturnType<typeof createTokenVerifier>
}

export async function createTestAuth(): Promise<TestAuth> {
  const { publicKey, privateKey } = await generateKeyPair('ES256')
  return {
    verifyToken: createTokenVerifier({ publicKey, algorithms: ['ES256'] }),
    async token(p, options = {}) {
      return new SignJWT({ tenant_id: p.tenantId, company_id: p.companyId, role: p.role })
        .setProtectedHeader({ alg: 'ES256' })
        .setSubject(p.userId ?? `user-${randomBytes(4).toString('hex')}`)
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? '1h')
        .sign(privateKey)
    },
  }
}

export class LogCapture extends Writable {
  readonly lines: string[] = []
  override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean))
    callback()
  }
  get text(): string {
    return this.lines.join('\n')
  }
}

export interface TestApp {
  app: App
  auth: TestAuth
  logs: LogCapture
  secretBox: SecretBox
  /** Bearer header for a principal. */
  headers(principal: Principal): Promise<{ authorization: string }>
}

export async function createTestApp(
  db: Kysely<Database>,
  options: { align?: Partial<AlignSettings>; logLevel?: string; now?: () => Date; notifyDb?: Kysely<Database>; dbPoolSize?: number } = {},
): Promise<TestApp> {
  const auth = await createTestAuth()
  const logs = new LogCapture()
  const secretBox = new SecretBox(randomBytes(32).toString('hex'))
  const app = await buildApp({
    db,
    logger: createLogger({ level: options.logLevel ?? 'info', name: 'api', destination: logs }),
    verifyToken: auth.verifyToken,
    secretBox,
    align: {
      baseUrl: 'http://127.0.0.1:9/api/v1',
      webhookBaseUrl: 'https://ingest.example.test',
      webhookSecretGraceSeconds: 600,
      gatewayOptions: { maxRetries: 0, timeoutMs: 5_000 },
      ...options.align,
    },
    ...(options.now ? { now: options.now } : {}),
    ...(options.notifyDb ? { notifyDb: options.notifyDb } : {}),
    ...(options.dbPoolSize ? { dbPoolSize: options.dbPoolSize } : {}),
  })
  await app.ready()
  return { app, auth, logs, secretBox, headers: async (p) => ({ authorization: `Bearer ${await auth.token(p)}` }) }
}

const COUNTED_TABLES = [
  'tenants', 'company_profiles', 'users', 'person_profiles', 'projects', 'project_slots', 'engagements', 'time_entries',
  'invoices', 'align_connections', 'align_sync_outbox',
] as const

/** Row counts plus a fingerprint of every updated_at, so "no row changed" covers updates too. */
export async function snapshotRows(db: Kysely<Database>): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const table of COUNTED_TABLES) {
    const row = await db.selectFrom(table as 'projects')
      .select((eb) => [eb.fn.countAll<string>().as('n')])
      .executeTakeFirstOrThrow()
    out[table] = String(row.n)
  }
  for (const table of ['projects', 'engagements', 'time_entries', 'users', 'align_connections'] as const) {
    const rows = await db.selectFrom(table as 'projects').select(['id', 'updated_at']).orderBy('id').execute()
    out[`${table}.updated`] = rows.map((r) => `${r.id}@${r.updated_at.toISOString()}`).join(',')
  }
  return out
}
