// The sandbox as a process: `pnpm --filter @illumera/align-sandbox start`. The only file that
// reads process.env or handles signals.
import { startAlignSandbox } from './sandbox.js'

function integerFromEnv(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback
  const parsed = Number(value)
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) throw new Error(`${name} must be an integer from ${min} to ${max}`)
  return parsed
}

async function main(): Promise<void> {
  const port = integerFromEnv('PORT', process.env.PORT, 4010, 0, 65535)
  const rateLimitPerMinute = integerFromEnv('SANDBOX_RATE_LIMIT_PER_MINUTE', process.env.SANDBOX_RATE_LIMIT_PER_MINUTE, 600, 0, 1_000_000)
  const host = process.env.HOST || '0.0.0.0'
  // Fastify logs "Server listening at …"; ALIGN_BASE_URL is that address + /api/v1.
  const sandbox = await startAlignSandbox({ port, host, rateLimitPerMinute, logger: true })
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve)
    process.once('SIGINT', resolve)
  })
  await sandbox.close()
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err)
  process.exitCode = 1
})
