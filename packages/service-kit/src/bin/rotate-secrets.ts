#!/usr/bin/env node
// `pnpm secrets:rotate`: re-encrypt every stored Align secret with ALIGN_ENCRYPTION_KEY.
// Deploy the new key first with the old one in ALIGN_ENCRYPTION_KEYS_PREVIOUS, run this, then drop the old key.
import { Type } from '@sinclair/typebox'
import { ConfigError, EnvVars, parseEnv } from '../config.js'
import { createDb } from '@illumera/db-schema'
import { rotateConnectionSecrets } from '../rotate-secrets.js'
import { secretBoxFromEnv } from '../secrets.js'

const Env = Type.Object({
  DATABASE_URL: EnvVars.DATABASE_URL,
  ALIGN_ENCRYPTION_KEY: EnvVars.ALIGN_ENCRYPTION_KEY,
  ALIGN_ENCRYPTION_KEYS_PREVIOUS: Type.Optional(EnvVars.ALIGN_ENCRYPTION_KEYS_PREVIOUS),
})

async function main(): Promise<void> {
  const env = parseEnv(Env, process.env)
  const box = secretBoxFromEnv(env)
  const db = createDb(env.DATABASE_URL, { max: 2, applicationName: 'illumera-rotate-secrets' })
  try {
    const report = await rotateConnectionSecrets(db, box, {
      onBatch: (r) => console.log(`… ${r.rows} rows read, ${r.rotated} rotated`),
    })
    for (const error of report.errors) console.error(error)
    console.log(`rotation to key ${box.currentKeyId}: ${report.rows} rows, ${report.rotated} re-encrypted, ${report.current} already current, ${report.failed} failed`)
    if (report.failed > 0) process.exitCode = 1
  } finally {
    await db.destroy()
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err)
  process.exitCode = 1
})
