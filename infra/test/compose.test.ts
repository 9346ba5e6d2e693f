// docker-compose.yml: Postgres 17, the one-shot migration, the four services and the sandbox, started in
// health-gated order, each configured for what its own config parser requires, with no secret in the file.
import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import {
  type ComposeService, containerPorts, dependencies, interpolate, interpolatedVariables, MissingVariableError, readCompose, serviceEnvironment,
} from './support/compose.js'
import { alignCallTimeoutMs, deployables, FAKE_SECRET_VALUES, MAX_SEQUENTIAL_ALIGN_CALLS_PER_ROW } from './support/deployables.js'
import { findStage, imageConfig, readDockerfile } from './support/dockerfile.js'
import { readRepoFile, repoRoot } from './support/repo.js'

const COMPOSE_FILE = 'docker-compose.yml'
const ENV_EXAMPLE = 'infra/compose.env.example'
const compose = readCompose(COMPOSE_FILE)
const composeText = readRepoFile(COMPOSE_FILE)
const services = compose.services
/** The variables compose needs from .env, with valid stand-in values. */
const variables = { POSTGRES_PASSWORD: 'compose-test-password', ALIGN_ENCRYPTION_KEY: FAKE_SECRET_VALUES.encryptionKey }

const ONE_SHOT = new Set(['migrate', 'reconciliation'])
const isOneShot = (name: string) => ONE_SHOT.has(name)
/** Names of variables whose value is a credential. */
const SECRET_NAME = /PASSWORD|SECRET|TOKEN|PRIVATE|ENCRYPTION_KEY|DATABASE_URL/

function service(name: string): ComposeService {
  const found = services[name]
  if (!found) throw new Error(`${COMPOSE_FILE} has no service ${name}`)
  return found
}

describe('interpolate', () => {
  it('reads compose variable forms', () => {
    const vars = { SET: 'x', EMPTY: '' }
    expect(interpolate('a${SET}b$SET$$c', vars)).toBe('axbx$c')
    expect(interpolate('${EMPTY:-d}|${EMPTY-d}|${UNSET-d}|${UNSET}', vars)).toBe('d||d|')
    expect(() => interpolate('${EMPTY:?set EMPTY}', vars)).toThrow('set EMPTY')
    expect(interpolate('${EMPTY?needed}', vars)).toBe('')
    expect(() => interpolate('${UNSET?needed}', vars)).toThrow(MissingVariableError)
  })
})

describe('docker-compose.yml', () => {
  it('runs Postgres 17 and every deployable', () => {
    expect(service('postgres').image).toMatch(/^postgres:17([.-]|$)/)
    for (const d of deployables) expect(Object.keys(services), d.name).toContain(d.name)
  })

  it.each(Object.keys(services))('%s: has an image or a build, an environment, and a health check unless it is a one-shot job', (name) => {
    const s = service(name)
    expect(s.image ?? s.build, 'image or build').toBeTruthy()
    expect(Object.keys(s.environment ?? {}).length, 'environment').toBeGreaterThan(0)
    if (isOneShot(name)) {
      expect(s.healthcheck).toBeUndefined()
      expect(s.restart).toBe('no')
    } else {
      const test = s.healthcheck?.test
      expect(Array.isArray(test) && ['CMD', 'CMD-SHELL'].includes(test[0]!), `${name} healthcheck`).toBe(true)
    }
  })

  it.each(deployables.map((d) => [d.name, d] as const))('%s: built from its infra/Dockerfile target', (name) => {
    const build = service(name).build
    expect(build?.dockerfile).toBe('infra/Dockerfile')
    expect(build?.context).toBe('.')
    expect(build?.target).toBe(name)
    expect(findStage(readDockerfile(build!.dockerfile!), name), `stage ${name}`).toBeDefined()
  })

  it.each(deployables.filter((d) => d.server).map((d) => [d.name, d] as const))('%s: listens and publishes the port DESIGN.md gives it, and checks its health there', (name, d) => {
    const s = service(name)
    const env = serviceEnvironment(s, variables)
    expect(env.PORT).toBe(String(d.server!.port))
    expect(containerPorts(s, variables)).toEqual([d.server!.port])
    // Published on the loopback interface only.
    for (const spec of s.ports ?? []) expect(spec).toMatch(/^127\.0\.0\.1:/)
    expect(s.healthcheck?.test).toEqual(['CMD', ...imageConfig(readDockerfile('infra/Dockerfile'), name).healthcheck!])
  })

  it('starts in health-gated order: Postgres healthy → migrations completed → services; the sandbox healthy before its callers', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [dependency, condition] of Object.entries(dependencies(s))) {
        expect(services[dependency], `${name} depends on ${dependency}`).toBeDefined()
        // Gated on health or completion, never on "started".
        if (isOneShot(dependency)) expect(condition, `${name} → ${dependency}`).toBe('service_completed_successfully')
        else {
          expect(condition, `${name} → ${dependency}`).toBe('service_healthy')
          expect(services[dependency]!.healthcheck, `${dependency} has a healthcheck to wait for`).toBeDefined()
        }
      }
    }
    expect(dependencies(service('migrate'))).toEqual({ postgres: 'service_healthy' })
    for (const name of ['api', 'webhook-ingest', 'sync-worker', 'reconciliation']) {
      expect(dependencies(service(name)).migrate, name).toBe('service_completed_successfully')
    }
    for (const name of ['api', 'sync-worker', 'reconciliation']) expect(dependencies(service(name))['align-sandbox'], name).toBe('service_healthy')
  })

  it('runs the reconciliation only when asked (a profile), like the CronJob does in Kubernetes', () => {
    expect(service('reconciliation').profiles).toEqual(['jobs'])
    for (const [name, s] of Object.entries(services)) if (name !== 'reconciliation') expect(s.profiles, name).toBeUndefined()
  })

  it.each(deployables.map((d) => [d.name, d] as const))('%s: its environment satisfies its own config parser, and names only variables it reads', (name, d) => {
    const image = imageConfig(readDockerfile('infra/Dockerfile'), name)
    const env = serviceEnvironment(service(name), variables)
    expect(() => d.loadConfig({ ...image.env, ...env })).not.toThrow()
    for (const variable of Object.keys(env)) expect(d.reads, `${name} reads ${variable}`).toContain(variable)
  })

  it('the api accepts development tokens only outside production, and real keys when set', () => {
    const api = deployables.find((d) => d.name === 'api')!
    const env = (vars: Record<string, string>) => serviceEnvironment(service('api'), { ...variables, ...vars })
    expect(() => api.loadConfig(env({ NODE_ENV: 'production' }))).toThrow(/AUTH_PUBLIC_KEY/)
    expect(() => api.loadConfig(env({ NODE_ENV: 'production', AUTH_JWKS_URL: 'https://auth.example.com/jwks.json' }))).not.toThrow()
  })

  it('refuses to start without the secrets, which come only from .env or the shell', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [variable, raw] of Object.entries(s.environment ?? {})) {
        if (!SECRET_NAME.test(variable)) continue
        const value = String(raw)
        const referenced = [...interpolatedVariables(value).keys()]
        expect(referenced.length, `${name}.${variable} is interpolated`).toBeGreaterThan(0)
        const sentinels = Object.fromEntries(referenced.map((v) => [v, `sentinel-${v.toLowerCase()}`]))
        const resolved = interpolate(value, sentinels)
        // The credential is exactly a variable's value: the whole value, or a URL's password.
        const credential = /^postgres(ql)?:\/\//.test(resolved) ? decodeURIComponent(new URL(resolved).password) : resolved
        expect(Object.values(sentinels), `${name}.${variable}: no literal credential`).toContain(credential)
        // Unset, it is either required (compose stops) or empty (an optional secret).
        let withoutVariables: string | undefined
        try {
          withoutVariables = interpolate(value, {})
        } catch (err) {
          expect(err).toBeInstanceOf(MissingVariableError)
        }
        if (withoutVariables !== undefined) expect(withoutVariables, `${name}.${variable} unset`).toBe('')
      }
    }
    expect(() => interpolate(String(service('api').environment?.DATABASE_URL), {})).toThrow(/POSTGRES_PASSWORD/)
    expect(() => interpolate(String(service('api').environment?.ALIGN_ENCRYPTION_KEY), {})).toThrow(/ALIGN_ENCRYPTION_KEY/)
    expect(composeText).not.toMatch(/\b[0-9a-fA-F]{64}\b/)
    expect(composeText).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY/)
  })

  it(`${ENV_EXAMPLE} names every variable compose requires, with no value`, () => {
    const example = new Map(readRepoFile(ENV_EXAMPLE).split('\n').filter((l) => /^\w+=/.test(l)).map((l) => {
      const [key, value] = l.split(/=(.*)/s)
      return [key!, value!] as const
    }))
    const required = [...interpolatedVariables(composeText)].filter(([, v]) => v.required).map(([name]) => name)
    expect(required.sort()).toEqual(['ALIGN_ENCRYPTION_KEY', 'POSTGRES_PASSWORD'])
    for (const name of required) expect(example.get(name), name).toBe('')
  })

  it('gives the sync worker a stop grace period longer than its drain', () => {
    const grace = /^(\d+)s$/.exec(service('sync-worker').stop_grace_period ?? '')
    expect(grace, 'stop_grace_period in seconds').not.toBeNull()
    const env = serviceEnvironment(service('sync-worker'), variables)
    expect(Number(grace![1]) * 1000).toBeGreaterThan(MAX_SEQUENTIAL_ALIGN_CALLS_PER_ROW * alignCallTimeoutMs(env))
  })

  const composeCli = [['docker', 'compose'], ['docker-compose']].find(([cmd, ...args]) =>
    spawnSync(cmd!, [...args, 'version'], { stdio: 'ignore' }).status === 0)
  it.runIf(composeCli)('is accepted by `compose config` (when a compose CLI is installed)', () => {
    const [cmd, ...args] = composeCli!
    const result = spawnSync(cmd!, [...args, '-f', COMPOSE_FILE, '--profile', 'jobs', 'config', '-q'], {
      cwd: repoRoot, env: { ...process.env, ...variables }, encoding: 'utf8',
    })
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
  })
})
