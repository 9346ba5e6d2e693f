// `pnpm demo`: the reference's end-to-end checklist as a script, against the running stack (`pnpm start`)
// or, when none answers, against one it starts and stops itself. Prints each step with its measured time;
// exits 0 when every step passed, 1 when one failed, 2 when the demo could not run at all.
// The only file that reads the environment, handles signals or sets the exit code.
//
// Environment: DEMO_API_URL (http://127.0.0.1:3000), ALIGN_BASE_URL (the sandbox, http://127.0.0.1:4010/api/v1),
// DATABASE_URL and ALIGN_ENCRYPTION_KEY for the reconciliation job (default: those of the running
// `pnpm start`, from .data/), DEMO_WAIT_TIMEOUT_MS (30000: the bound of each wait for the other side).
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildChecklist } from './checklist.js'
import { AlignSandboxClient, IllumeraApi } from './clients.js'
import { closeConnections } from './http.js'
import { Programs } from './programs.js'
import { runChecklist, summaryLine, waitFor } from './report.js'
import { type OwnStack, resolveEndpoints, runningStartPid, startOwnStack } from './stack.js'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const STACK_START_TIMEOUT_MS = 180_000

/** The demo cannot run at all (no stack, a bad variable): exit 2, not a failed step. */
class DemoSetupError extends Error {}

function positiveInteger(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback
  const parsed = Number(value)
  if (!Number.isInteger(parsed) || parsed <= 0) throw new DemoSetupError(`${name} must be a positive integer (milliseconds)`)
  return parsed
}

async function main(): Promise<number> {
  const env = process.env
  let interrupted = false
  // After Ctrl-C the steps still running fail as the stack goes away: they print nothing more.
  const write = (text: string) => void (interrupted || process.stdout.write(text))
  const out = { write, color: Boolean(process.stdout.isTTY) && !env.NO_COLOR }
  const waitTimeoutMs = positiveInteger('DEMO_WAIT_TIMEOUT_MS', env.DEMO_WAIT_TIMEOUT_MS, 30_000)

  let endpoints = resolveEndpoints(env, repoRoot)
  let ownStack: OwnStack | undefined
  let stopping: Promise<void> | undefined
  const stopOwnStack = (): Promise<void> => {
    if (!ownStack) return Promise.resolve()
    const stack = ownStack
    stopping ??= (async () => {
      process.stdout.write('Stopping the stack the demo started…\n')
      await closeConnections()
      await stack.stop()
    })()
    return stopping
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      interrupted = true
      process.stdout.write(`\nInterrupted (${signal}).\n`)
      void stopOwnStack().finally(() => process.exit(130))
    })
  }

  try {
    if (!(await new IllumeraApi(endpoints.apiUrl).ready())) {
      const startingPid = runningStartPid(repoRoot)
      if (env.DEMO_API_URL) {
        throw new DemoSetupError(`nothing answers at DEMO_API_URL (${endpoints.apiUrl}/readyz)`)
      } else if (startingPid) {
        write(`Waiting for the running pnpm start (pid ${startingPid}) to be ready…\n`)
        const api = new IllumeraApi(endpoints.apiUrl)
        await waitFor(`the api at ${endpoints.apiUrl}`, async () => ((await api.ready()) ? true : undefined), STACK_START_TIMEOUT_MS)
      } else {
        write(`Nothing answers at ${endpoints.apiUrl}: starting the stack (pnpm start, logs in .data/demo-stack.log)…\n`)
        ownStack = startOwnStack(repoRoot, process.execPath, env, STACK_START_TIMEOUT_MS)
        await ownStack.ready
      }
      endpoints = resolveEndpoints(env, repoRoot)
    }
    if (!endpoints.databaseUrl || !endpoints.encryptionKey) {
      throw new DemoSetupError(
        `the reconciliation job needs the stack's ${!endpoints.databaseUrl ? 'DATABASE_URL' : 'ALIGN_ENCRYPTION_KEY'}: ` +
        'set it as for pnpm start (the embedded Postgres and .data/dev.env are found on their own)',
      )
    }

    const api = new IllumeraApi(endpoints.apiUrl)
    const align = new AlignSandboxClient(endpoints.alignBaseUrl)
    const programs = new Programs(
      repoRoot,
      { execPath: process.execPath, execArgv: process.execArgv, fromSources: import.meta.url.endsWith('.ts') },
      { ...env, DATABASE_URL: endpoints.databaseUrl, ALIGN_BASE_URL: endpoints.alignBaseUrl, ALIGN_ENCRYPTION_KEY: endpoints.encryptionKey },
    )
    const runId = randomBytes(3).toString('hex')
    const steps = buildChecklist({ api, align, programs, runId, waitTimeoutMs, workDate: new Date().toISOString().slice(0, 10) })

    write(`\nIllumera ⇄ Align end-to-end demo, run ${runId}\n`)
    write(`  api ${endpoints.apiUrl} · Align sandbox ${endpoints.alignBaseUrl} · each wait bounded at ${waitTimeoutMs / 1000} s\n\n`)
    const started = performance.now()
    const results = await runChecklist(steps, out)
    const passed = results.every((r) => r.status === 'passed')
    write(`\n${summaryLine(results, performance.now() - started)}\n`)
    return passed ? 0 : 1
  } finally {
    await stopOwnStack()
  }
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    console.error(`demo not run: ${err instanceof Error ? err.message : String(err)}`)
    process.exitCode = 2
  },
)
