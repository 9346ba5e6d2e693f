// The other programs the demo runs, each exactly as an operator would: `dev:token` for bearer tokens and
// the reconciliation job. Built code runs built code (dist/*.js); the demo run from its TypeScript
// sources (its test) runs their sources with the same Node flags (the source loader).
import { spawn } from 'node:child_process'
import path from 'node:path'

/** How this Node process was started: its executable, its flags, and whether it runs sources. */
export interface NodeRuntime {
  execPath: string
  execArgv: string[]
  fromSources: boolean
}

export interface ProgramResult {
  code: number | null
  stdout: string
  stderr: string
}

export class Programs {
  constructor(
    private readonly repoRoot: string,
    private readonly runtime: NodeRuntime,
    /** The environment every program gets (the stack's DATABASE_URL, ALIGN_* and AUTH_DEV_KEY_DIR). */
    private readonly env: Record<string, string | undefined>,
  ) {}

  /** services/<x>/dist/<entry>.js, or src/<entry>.ts when running from sources. */
  private entry(packageDir: string, entry: string): string {
    return path.join(this.repoRoot, packageDir, this.runtime.fromSources ? `src/${entry}.ts` : `dist/${entry}.js`)
  }

  run(packageDir: string, entry: string, args: string[], timeoutMs: number, env: Record<string, string> = {}): Promise<ProgramResult> {
    const file = this.entry(packageDir, entry)
    const flags = this.runtime.fromSources ? this.runtime.execArgv : []
    return new Promise((resolve, reject) => {
      const child = spawn(this.runtime.execPath, [...flags, file, ...args], {
        cwd: path.join(this.repoRoot, packageDir), env: { ...this.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(new Error(`${path.relative(this.repoRoot, file)} did not finish within ${timeoutMs} ms`))
      }, timeoutMs)
      child.on('error', (err) => {
        clearTimeout(timer)
        reject(err)
      })
      child.on('close', (code) => {
        clearTimeout(timer)
        resolve({ code, stdout, stderr })
      })
    })
  }

  /** A bearer token the api accepts with AUTH_DEV_KEYS=1 (services/api `dev:token`). */
  async devToken(claims: { tenant: string; company: string; role: 'talent' | 'company_admin' | 'platform_admin'; sub?: string }): Promise<string> {
    const args = ['--tenant', claims.tenant, '--company', claims.company, '--role', claims.role, '--ttl', '1h']
    if (claims.sub) args.push('--sub', claims.sub)
    const result = await this.run('services/api', 'bin/dev-token', args, 30_000)
    const token = result.stdout.trim()
    if (result.code !== 0 || !token) throw new Error(`dev:token failed (exit ${result.code}): ${result.stderr.trim()}`)
    return token
  }

  /** The reconciliation job for one connection; its exit code says how it went (0 agree, 1 discrepancies, 2 failed). */
  reconcile(connectionId: string): Promise<ProgramResult> {
    return this.run('services/reconciliation', 'main', ['--connection', connectionId], 120_000, { LOG_LEVEL: 'warn' })
  }
}
