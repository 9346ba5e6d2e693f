// scripts/with-postgres.mjs (pnpm test, pnpm db:migrate): on SIGTERM the command shuts down first, with its
// database still up, and the embedded server stops after it; the command's exit code is the script's.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { expect, it } from 'vitest'

const here = path.dirname(fileURLToPath(import.meta.url))
const script = path.resolve(here, '../../../scripts/with-postgres.mjs')

it('on SIGTERM lets the command finish with its database, then stops the embedded server', { timeout: 90_000 }, async () => {
  const { DATABASE_URL: _callers, ...env } = process.env // unset: the script starts a throwaway embedded server
  const proc = spawn(process.execPath, [script, process.execPath, path.join(here, 'fixtures/graceful-child.mjs')], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  proc.stderr.on('data', (chunk: Buffer) => { stderr += chunk })
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk
      const ready = /ready (\d+)/.exec(stdout)
      if (ready) resolve(Number(ready[1]))
    })
    proc.on('exit', (code) => reject(new Error(`exited (${code}) before the command was ready: ${stderr}`)))
  })

  proc.kill('SIGTERM')
  const [code] = await once(proc, 'exit')
  expect(stdout).toContain('query after SIGTERM: 42')
  expect(code).toBe(7)
  // And the server it started is gone.
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 2_000 })
  client.on('error', () => {})
  await expect(client.connect()).rejects.toMatchObject({ code: 'ECONNREFUSED' })
})
