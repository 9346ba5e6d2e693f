// The paths the images' HEALTHCHECKs, compose and the Kubernetes probes ask are routes the processes
// serve: service-kit's createServiceApp (every service builds on it) and the sandbox's app.
import { describe, expect, it } from 'vitest'
import { startAlignSandbox } from '../../packages/align-sandbox/src/index.js'
import { createLogger, createMetricsRegistry, createServiceApp } from '../../packages/service-kit/src/index.js'
import { deployables } from './support/deployables.js'
import { readRepoFile } from './support/repo.js'

const services = deployables.filter((d) => d.server && d.schema)

describe('health routes', () => {
  it.each(services.map((d) => [d.name, d.packageDir] as const))('%s builds its HTTP app on service-kit createServiceApp', (_name, dir) => {
    expect(readRepoFile(`${dir}/src/app.ts`)).toMatch(/\bcreateServiceApp\(/)
  })

  it('createServiceApp serves /healthz (alive) and /readyz (ready, 503 once a check fails or shutdown began)', async () => {
    let failing = false
    let shuttingDown = false
    const app = await createServiceApp({
      logger: createLogger({ level: 'silent' }),
      metrics: createMetricsRegistry('infra-test'),
      checks: { database: async () => { if (failing) throw new Error('down') } },
      isShuttingDown: () => shuttingDown,
    })
    try {
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200)
      expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200)
      failing = true
      expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503)
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200)
      failing = false
      shuttingDown = true
      expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503)
    } finally {
      await app.close()
    }
  })

  it('the align sandbox serves /healthz (and no /readyz, so its probes use /healthz)', async () => {
    const sandbox = await startAlignSandbox({ port: 0, host: '127.0.0.1' })
    try {
      expect((await fetch(`${sandbox.url}/healthz`)).status).toBe(200)
      expect((await fetch(`${sandbox.url}/readyz`)).status).toBe(404)
    } finally {
      await sandbox.close()
    }
    expect(deployables.find((d) => d.name === 'align-sandbox')?.server?.readinessPath).toBe('/healthz')
  })
})
