// infra/Dockerfile: one target per deployable, built with `pnpm deploy --prod`, run as a non-root user,
// with a health check for every long-running process; everything it copies exists and is in the context.
import { spawn } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { deployables } from './support/deployables.js'
import { isIgnored, readDockerignore } from './support/dockerignore.js'
import { copies, findStage, imageConfig, parseDockerfile, readDockerfile, runCommands, stageChain } from './support/dockerfile.js'
import { readPackageJson, readRepoFile, repoFileExists, repoPath } from './support/repo.js'

const DOCKERFILE = 'infra/Dockerfile'
const HEALTHCHECK_SCRIPT = 'infra/docker/healthcheck.mjs'
const dockerfile = readDockerfile(DOCKERFILE)
const ignorePatterns = readDockerignore()

/** `pnpm … --filter <package> deploy --prod <dir>` lines of the file, as package → output folder. */
function deployCommands(): Map<string, string> {
  const found = new Map<string, string>()
  for (const stage of dockerfile.stages) {
    for (const command of runCommands(stage)) {
      for (const match of command.matchAll(/pnpm\s+(?:--[\w-]+\s+\S+\s+)*--filter\s+(\S+)\s+deploy\s+--prod\s+(\S+)/g)) {
        found.set(match[1]!, match[2]!)
      }
    }
  }
  return found
}

describe('parseDockerfile', () => {
  it('joins continuations, drops comment lines inside them and names stages', () => {
    const parsed = parseDockerfile([
      '# syntax=docker/dockerfile:1',
      'ARG BASE=node:24-slim',
      'FROM ${BASE} AS one',
      'RUN echo a \\',
      '  # a comment inside the continuation',
      '  && echo b',
      'FROM one AS Two',
      'USER 1000',
    ].join('\n'))
    expect(parsed.globalArgs).toEqual({ BASE: 'node:24-slim' })
    expect(parsed.stages.map((s) => s.name)).toEqual(['one', 'two'])
    expect(runCommands(parsed.stages[0]!)).toEqual(['echo a && echo b'])
    expect(stageChain(parsed, 'two').baseImage).toBe('node:24-slim')
  })

  it('refuses a file that ends inside a continuation', () => {
    expect(() => parseDockerfile('FROM node:24\nRUN echo \\')).toThrow(/continuation/)
  })
})

describe('infra/Dockerfile', () => {
  it('is multi-stage, on Node 24', () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2)
    for (const d of deployables) {
      expect(stageChain(dockerfile, d.name).baseImage, d.name).toMatch(/^node:24([.-]|$)/)
    }
  })

  it('installs the pnpm version the repository pins (devEngines), without a packageManager field', () => {
    const root = JSON.parse(readRepoFile('package.json')) as { devEngines?: { packageManager?: { version?: string } }; packageManager?: string }
    const pinned = root.devEngines?.packageManager?.version
    expect(pinned).toBeTruthy()
    const installs = dockerfile.stages.flatMap(runCommands).join('\n').match(/pnpm@(\S+)/g)
    expect(installs).toEqual([`pnpm@${pinned}`])
    expect(root.packageManager).toBeUndefined()
  })

  it('builds every deployable package (its install and build filters select it, with its dependencies)', () => {
    const build = findStage(dockerfile, 'build')!
    const commands = runCommands(build)
    const install = commands.find((c) => /pnpm install\b/.test(c))!
    const compile = commands.find((c) => /\brun build\b/.test(c))!
    expect(install).toMatch(/--frozen-lockfile/)
    const filtersOf = (command: string) => [...command.matchAll(/--filter(?:-prod)?\s+"([^"]+)"/g)].map((m) => m[1]!)
    const filters = filtersOf(install)
    expect(filters.length).toBeGreaterThan(0)
    expect(filtersOf(compile)).toEqual(filters)
    // `...` takes in the workspace packages each selected one depends on.
    for (const filter of filters) expect(filter, filter).toMatch(/\.\.\.$/)
    const selects = (packageDir: string, name: string) => filters.some((f) => {
      const selector = f.replace(/\.\.\.$/, '')
      const dirGlob = /^\{(.+)\}$/.exec(selector)?.[1]
      return dirGlob ? path.posix.matchesGlob(packageDir, dirGlob) : selector === name
    })
    for (const d of deployables) {
      const { name } = readPackageJson(d.packageDir)
      // Migrations are a dependency of every service, so selecting the services builds them.
      const viaDependency = deployables.some((other) => other !== d && selects(other.packageDir, readPackageJson(other.packageDir).name)
        && Object.keys(readPackageJson(other.packageDir).dependencies ?? {}).includes(name))
      expect(selects(d.packageDir, name) || viaDependency, `${name} is built`).toBe(true)
    }
  })

  it.each(deployables.map((d) => [d.name, d] as const))('%s: a production tree from pnpm deploy --prod, copied into its own target', (_name, d) => {
    const { name: packageName } = readPackageJson(d.packageDir)
    const output = deployCommands().get(packageName)
    expect(output, `pnpm --filter ${packageName} deploy --prod`).toBeDefined()
    const copiesIntoTarget = copies(dockerfile).filter((c) => c.stage.name === d.name && c.from !== undefined)
    expect(copiesIntoTarget.map((c) => ({ sources: c.sources, destination: c.destination }))).toEqual([{ sources: [output], destination: '/app' }])
    expect(findStage(dockerfile, copiesIntoTarget[0]!.from!)?.instructions.some((i) => i.keyword === 'RUN' && i.args.includes(`deploy --prod ${output}`))).toBe(true)
    expect(imageConfig(dockerfile, d.name).workdir).toBe('/app')
  })

  it.each(deployables.map((d) => [d.name, d] as const))('%s: runs what its package.json script runs, as a non-root user', (_name, d) => {
    const image = imageConfig(dockerfile, d.name)
    // Numeric and not 0, so Kubernetes can verify runAsNonRoot.
    expect(image.user).toMatch(/^[1-9]\d*(:\d+)?$/)
    const script = readPackageJson(d.packageDir).scripts?.[d.script]
    expect(script, `${d.packageDir} script ${d.script}`).toMatch(/^node \S+$/)
    expect(image.command).toEqual(script!.split(' '))
    // The entry is compiled from a source file that exists.
    const entry = image.command[1]!
    expect(repoFileExists(path.join(d.packageDir, entry.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts')))).toBe(true)
    expect(image.env.NODE_ENV).toBe('production')
  })

  it.each(deployables.map((d) => [d.name, d] as const))('%s: a health check on its own port when long-running, none for a job', (_name, d) => {
    const image = imageConfig(dockerfile, d.name)
    if (!d.server) {
      expect(image.healthcheck).toBeUndefined()
      expect(image.exposed).toEqual([])
      return
    }
    expect(image.exposed).toEqual([d.server.port])
    expect(image.env.PORT).toBe(String(d.server.port))
    expect(image.healthcheck).toEqual(['node', `/usr/local/lib/illumera/${path.basename(HEALTHCHECK_SCRIPT)}`, d.server.readinessPath])
    if (d.schema) expect(d.schema.properties.PORT?.default, 'the config default port').toBe(d.server.port)
  })

  it('copies only paths that exist in the repository and are part of the build context', () => {
    const fromContext = copies(dockerfile).filter((c) => c.from === undefined)
    expect(fromContext.length).toBeGreaterThan(0)
    for (const copy of fromContext) {
      for (const source of copy.sources) {
        expect(repoFileExists(source), `line ${copy.line}: ${source} exists`).toBe(true)
        if (source !== '.') expect(isIgnored(source, ignorePatterns), `line ${copy.line}: ${source} is not in .dockerignore`).toBe(false)
      }
    }
    const healthcheckCopy = fromContext.find((c) => c.sources.includes(HEALTHCHECK_SCRIPT))
    expect(healthcheckCopy?.destination).toBe('/usr/local/lib/illumera/healthcheck.mjs')
  })

  it('keeps in the build context what the build reads, and leaves out host builds, dependencies and secrets', () => {
    const needed = ['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml', 'tsconfig.base.json', HEALTHCHECK_SCRIPT]
    for (const d of deployables) needed.push(`${d.packageDir}/package.json`, `${d.packageDir}/tsconfig.build.json`, `${d.packageDir}/src/main.ts`)
    for (const file of needed) expect(isIgnored(file, ignorePatterns), file).toBe(false)
    for (const file of ['node_modules/x', 'services/api/node_modules/x', 'services/api/dist/main.js', '.env', '.env.production', '.data/postgres', '.git/HEAD']) {
      expect(isIgnored(file, ignorePatterns), file).toBe(true)
    }
  })
})

describe('infra/docker/healthcheck.mjs', () => {
  let server: Server | undefined
  afterEach(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)))
    server = undefined
  })

  async function serve(status: number): Promise<{ port: number; paths: string[] }> {
    const paths: string[] = []
    server = createServer((req, res) => {
      paths.push(req.url ?? '')
      res.writeHead(status).end()
    })
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
    return { port: (server.address() as AddressInfo).port, paths }
  }

  function runCheck(port: number | undefined, ...args: string[]): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve) => {
      const env = { ...process.env, PORT: port === undefined ? '' : String(port) }
      const child = spawn(process.execPath, [repoPath(HEALTHCHECK_SCRIPT), ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] })
      let stderr = ''
      child.stderr.on('data', (chunk) => { stderr += chunk })
      child.on('close', (code) => resolve({ code, stderr }))
    })
  }

  it('exits 0 when the path answers 2xx, asking the path it was given', async () => {
    const { port, paths } = await serve(200)
    expect((await runCheck(port, '/readyz')).code).toBe(0)
    expect(paths).toEqual(['/readyz'])
  })

  it('exits 1 when the path answers 503 (not ready)', async () => {
    const { port } = await serve(503)
    const result = await runCheck(port, '/readyz')
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('503')
  })

  it('exits 1 when nothing listens, and when PORT is unset', async () => {
    const { port } = await serve(200)
    await new Promise((resolve) => server!.close(resolve))
    server = undefined
    expect((await runCheck(port)).code).toBe(1)
    const unset = await runCheck(undefined)
    expect(unset.code).toBe(1)
    expect(unset.stderr).toContain('PORT')
  })
})
