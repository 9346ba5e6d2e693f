// Real worker processes (src/main.ts, as deployed) for the kill -9 and shared-budget tests.
import { type ChildProcess, spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { tsSourceLoaderUrl as loader } from '@illumera/test-harness'
import { ENCRYPTION_KEY } from './setup.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const main = path.join(here, '..', '..', 'src', 'main.ts')

export interface WorkerProcess {
  child: ChildProcess
  output: string[]
  exited: Promise<number | null>
  kill(signal: NodeJS.Signals): void
}

export function spawnWorker(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ['--conditions=@illumera/source', '--import', loader, main], {
    env: { PATH: process.env.PATH ?? '', ALIGN_ENCRYPTION_KEY: ENCRYPTION_KEY, PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output: string[] = []
  child.stdout!.on('data', (chunk) => output.push(String(chunk)))
  child.stderr!.on('data', (chunk) => output.push(String(chunk)))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, output, exited, kill: (signal) => { child.kill(signal) } }
}
