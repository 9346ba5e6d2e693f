// Where the stack is: the environment first (DEMO_API_URL, ALIGN_BASE_URL, DATABASE_URL,
// ALIGN_ENCRYPTION_KEY), then what a running `pnpm start` wrote to .data/stack.json, then the defaults.
// When nothing answers and no `pnpm start` runs, the demo starts one (scripts/start.mjs, its logs in
// .data/demo-stack.log) and stops it at the end.
import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs'
import path from 'node:path'

export interface StackEndpoints {
  apiUrl: string
  alignBaseUrl: string
  /** For the reconciliation job; undefined when neither the environment nor .data/stack.json gives it. */
  databaseUrl: string | undefined
  encryptionKey: string | undefined
}

/** .data/stack.json as scripts/start.mjs writes it once the stack is ready. */
interface StackFile {
  pid: number
  apiUrl: string
  alignBaseUrl: string
  databaseUrl: string | null
  encryptionKeyFile: string | null
}

export const DEFAULT_API_URL = 'http://127.0.0.1:3000'
export const DEFAULT_ALIGN_BASE_URL = 'http://127.0.0.1:4010/api/v1'

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The running `pnpm start`'s description, if one is running. */
export function readStackFile(repoRoot: string): StackFile | undefined {
  const file = path.join(repoRoot, '.data/stack.json')
  if (!existsSync(file)) return undefined
  try {
    const stack = JSON.parse(readFileSync(file, 'utf8')) as StackFile
    return isAlive(stack.pid) ? stack : undefined
  } catch {
    return undefined
  }
}

/** The pid of a `pnpm start` that is running (perhaps still starting), from its lock file. */
export function runningStartPid(repoRoot: string): number | undefined {
  const file = path.join(repoRoot, '.data/start.pid')
  if (!existsSync(file)) return undefined
  const pid = Number(readFileSync(file, 'utf8'))
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined
}

function readEncryptionKey(file: string): string | undefined {
  if (!existsSync(file)) return undefined
  const line = readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith('ALIGN_ENCRYPTION_KEY='))
  return line?.slice('ALIGN_ENCRYPTION_KEY='.length).trim() || undefined
}

export function resolveEndpoints(env: Record<string, string | undefined>, repoRoot: string): StackEndpoints {
  const stack = readStackFile(repoRoot)
  return {
    apiUrl: (env.DEMO_API_URL || stack?.apiUrl || DEFAULT_API_URL).replace(/\/+$/, ''),
    alignBaseUrl: (env.ALIGN_BASE_URL || stack?.alignBaseUrl || DEFAULT_ALIGN_BASE_URL).replace(/\/+$/, ''),
    databaseUrl: env.DATABASE_URL || stack?.databaseUrl || undefined,
    encryptionKey: env.ALIGN_ENCRYPTION_KEY || readEncryptionKey(stack?.encryptionKeyFile ?? path.join(repoRoot, '.data/dev.env')),
  }
}

export interface OwnStack {
  logFile: string
  /** Resolves once .data/stack.json is written (everything answers its health route); rejects with the log's tail. */
  ready: Promise<void>
  /** SIGTERM (the stack stops its services, then Postgres) and wait for it, at most `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>
}

/** Starts `pnpm start`'s script; stoppable at once, even before it is ready. */
export function startOwnStack(repoRoot: string, execPath: string, env: Record<string, string | undefined>, readyTimeoutMs: number): OwnStack {
  mkdirSync(path.join(repoRoot, '.data'), { recursive: true })
  const logFile = path.join(repoRoot, '.data/demo-stack.log')
  const log = openSync(logFile, 'w')
  let child: ChildProcess
  try {
    // Its own process group, so a Ctrl-C reaches it only through the demo (once); the IPC channel makes it
    // stop if the demo dies without a chance to stop it.
    child = spawn(execPath, [path.join(repoRoot, 'scripts/start.mjs')], { cwd: repoRoot, env, stdio: ['ignore', log, log, 'ipc'], detached: true })
  } finally {
    closeSync(log)
  }
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  let exitCode: number | null | undefined
  void exited.then((code) => (exitCode = code))
  let stopping = false
  const tail = () => readFileSync(logFile, 'utf8').trim().split('\n').slice(-15).join('\n')
  const stop = async (stopTimeoutMs = 30_000) => {
    stopping = true
    if (exitCode !== undefined) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs)
    await exited
    clearTimeout(timer)
  }
  const ready = (async () => {
    const deadline = Date.now() + readyTimeoutMs
    while (!readStackFile(repoRoot)) {
      if (stopping) throw new Error('stopped before it was ready')
      if (exitCode !== undefined) throw new Error(`pnpm start exited with code ${exitCode}; the end of ${logFile}:\n${tail()}`)
      if (Date.now() > deadline) throw new Error(`the stack was not ready after ${readyTimeoutMs / 1000} s; the end of ${logFile}:\n${tail()}`)
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  })()
  return { logFile, ready, stop }
}
