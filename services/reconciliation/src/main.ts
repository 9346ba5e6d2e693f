// The entry point of the run-once job (the Kubernetes CronJob and `pnpm --filter ./services/reconciliation
// start [-- flags]`), and the only file that touches process: env, argv and the exit code.
// Exit codes: 0 everything agrees · 1 discrepancies found · 2 failed, incomplete, bad flag or env, or
// another run holds the lock.
import { pathToFileURL } from 'node:url'
import { closeAlignPools } from '@illumera/align-gateway'
import { assertMigrated } from '@illumera/db-schema'
import { ConfigError, createGatewayFactory, createLogger, createServiceDb, secretBoxFromEnv } from '@illumera/service-kit'
import type { DestinationStream } from 'pino'
import { createSharedBudget } from './budget.js'
import { CliArgsError, parseCliArgs, USAGE } from './cli-args.js'
import { systemClock } from './clock.js'
import { loadConfig } from './config.js'
import { ReconciliationLockedError } from './lock.js'
import { exitCodeFor, formatSummaryLine, runReconciliation, UnknownConnectionError } from './reconcile.js'

export interface MainIo {
  /** The one-line summary (and --help). */
  out(line: string): void
  /** Usage and configuration errors. */
  err(line: string): void
  /** Where the JSON log goes (default: stdout, asynchronously). */
  logDestination?: DestinationStream
}

const processIo: MainIo = {
  out: (line) => { process.stdout.write(`${line}\n`) },
  err: (line) => { process.stderr.write(`${line}\n`) },
}

/** Runs one reconciliation and resolves to its exit code. */
export async function main(argv: string[], env: Record<string, string | undefined>, io: MainIo = processIo): Promise<number> {
  let args
  let loaded
  try {
    args = parseCliArgs(argv)
    if (args.help) {
      io.out(USAGE)
      return 0
    }
    loaded = loadConfig(env)
  } catch (err) {
    if (err instanceof CliArgsError || err instanceof ConfigError) {
      io.err(err.message)
      return 2
    }
    throw err
  }
  const { config, secrets } = loaded
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'reconciliation', ...(io.logDestination ? { destination: io.logDestination } : {}) })
  // The lock holds one connection for the whole run; the checks use the others.
  const db = createServiceDb(config.DATABASE_URL, logger, { name: 'reconciliation', max: config.RECONCILE_PROJECT_CONCURRENCY * 2 + 3 })
  try {
    await assertMigrated(db)
    const box = secretBoxFromEnv(secrets)
    const summary = await runReconciliation({
      db, logger, clock: systemClock,
      gatewayFor: createGatewayFactory({ box, baseUrl: config.ALIGN_BASE_URL, timeoutMs: config.ALIGN_CALL_TIMEOUT_MS }),
      budget: createSharedBudget(db, systemClock, { limitPerMinute: config.ALIGN_RATE_LIMIT_PER_MINUTE }),
      options: {
        connectionId: args.connectionId, dryRun: args.dryRun, fix: args.fix, since: args.since,
        projectConcurrency: config.RECONCILE_PROJECT_CONCURRENCY,
      },
    })
    io.out(formatSummaryLine(summary))
    return exitCodeFor(summary.outcome)
  } catch (err) {
    if (err instanceof ReconciliationLockedError || err instanceof UnknownConnectionError) {
      io.out(`reconciliation not run: ${err.message}`)
      logger.warn({ reason: err.message }, 'reconciliation not run')
      return 2
    }
    io.out(`reconciliation failed: ${err instanceof Error ? err.message : String(err)}`)
    logger.error({ err: { name: (err as Error)?.name, message: (err as Error)?.message } }, 'reconciliation failed')
    return 2
  } finally {
    await db.destroy()
    await closeAlignPools()
    logger.flush()
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2), process.env).then(
    (code) => { process.exitCode = code },
    (err: unknown) => { console.error(err); process.exitCode = 2 },
  )
}
