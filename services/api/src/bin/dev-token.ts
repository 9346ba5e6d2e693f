#!/usr/bin/env node
// `pnpm dev:token -- --tenant T --company C --role R [--sub U] [--ttl 8h]`: prints a bearer token signed
// with the development key (see dev-keys.ts) that a local `pnpm start` accepts. Never valid in production.
import { randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import { importPKCS8, SignJWT } from 'jose'
import { DEV_KEY_ALGORITHM, ensureDevKeyPair } from '../dev-keys.js'
import { ROLES } from '../auth/verify-token.js'

const USAGE = 'usage: pnpm dev:token -- --tenant <id> --company <id> --role <talent|company_admin|platform_admin> [--sub <user id>] [--ttl 8h]'

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--'),
    options: {
      tenant: { type: 'string' },
      company: { type: 'string' },
      role: { type: 'string' },
      sub: { type: 'string' },
      ttl: { type: 'string', default: '8h' },
    },
  })
  if (!values.tenant || !values.company || !values.role) throw new Error(USAGE)
  if (!(ROLES as readonly string[]).includes(values.role)) throw new Error(`--role must be one of ${ROLES.join(', ')}`)
  const { privateKeyPem } = await ensureDevKeyPair(process.env.AUTH_DEV_KEY_DIR || undefined)
  const key = await importPKCS8(privateKeyPem, DEV_KEY_ALGORITHM)
  const token = await new SignJWT({ tenant_id: values.tenant, company_id: values.company, role: values.role })
    .setProtectedHeader({ alg: DEV_KEY_ALGORITHM })
    .setSubject(values.sub ?? randomUUID())
    .setIssuedAt()
    .setExpirationTime(values.ttl!)
    .sign(key)
  process.stdout.write(`${token}\n`)
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err)
  process.exitCode = 1
})
