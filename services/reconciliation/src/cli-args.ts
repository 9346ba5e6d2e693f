// The command line: --connection <id>, --dry-run, --fix, --since <ISO date>. A bad flag is a CliArgsError
// whose message names it (main prints it and exits 2).
import { parseArgs } from 'node:util'

export class CliArgsError extends Error {
  override name = 'CliArgsError'
}

export interface CliArgs {
  connectionId?: string | undefined
  dryRun: boolean
  fix: boolean
  since?: Date | undefined
  help: boolean
}

export const USAGE = 'usage: reconciliation [--connection <id>] [--dry-run | --fix] [--since <ISO date, e.g. 2026-11-01 or 2026-11-01T00:00:00Z>]'

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/

export function parseCliArgs(argv: string[]): CliArgs {
  let values: { connection?: string | undefined; 'dry-run'?: boolean | undefined; fix?: boolean | undefined; since?: string | undefined; help?: boolean | undefined }
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        connection: { type: 'string' },
        'dry-run': { type: 'boolean' },
        fix: { type: 'boolean' },
        since: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }))
  } catch (err) {
    throw new CliArgsError(`${(err as Error).message}\n${USAGE}`)
  }
  const args: CliArgs = { dryRun: values['dry-run'] ?? false, fix: values.fix ?? false, help: values.help ?? false }
  if (values.connection !== undefined) {
    if (values.connection.trim() === '' || values.connection.startsWith('-')) throw new CliArgsError(`--connection needs a connection id\n${USAGE}`)
    args.connectionId = values.connection
  }
  if (values.since !== undefined) {
    const since = new Date(values.since)
    if (!ISO_DATE.test(values.since) || Number.isNaN(since.getTime())) {
      throw new CliArgsError(`--since must be an ISO date (2026-11-01 or 2026-11-01T00:00:00Z), got ${JSON.stringify(values.since.slice(0, 40))}\n${USAGE}`)
    }
    args.since = since
  }
  if (args.dryRun && args.fix) throw new CliArgsError(`--fix writes outbox rows and --dry-run writes nothing: use one of them\n${USAGE}`)
  return args
}
