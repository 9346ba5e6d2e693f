import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createLogger, createMetricsRegistry, createServiceApp, requestChildLogger } from '../src/index.js'

function capture() {
  const lines: string[] = []
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(chunk.toString())
      done()
    },
  })
  return { lines, destination, text: () => lines.join('') }
}

describe('logger redaction', () => {
  const apiKey = 'align_live_ORG_KEY_5e1f0c2b9a7d'
  const hmacSecret = 'whsec_0123456789abcdef0123456789abcdef0123456789abcdef'
  const encryptionKey = 'f'.repeat(64)

  it('never writes a secret held in a log object', () => {
    const out = capture()
    const logger = createLogger({ destination: out.destination, level: 'debug' })
    logger.info({ apiKey, hmacSecret, encryptionKey }, 'top level')
    logger.info({ connection: { apiKey, webhookSecret: hmacSecret, encrypted_api_key: 'v1.x' } }, 'nested')
    logger.info({ req: { headers: { authorization: `Bearer ${apiKey}`, 'x-align-signature': 'sha256=abc' } } }, 'request')
    const text = out.text()
    expect(out.lines).toHaveLength(3)
    for (const secret of [apiKey, hmacSecret, encryptionKey, 'sha256=abc', 'v1.x']) expect(text).not.toContain(secret)
    expect(text).toContain('[REDACTED]')
  })

  it("redacts the Authorization header of Fastify's request logs", async () => {
    const out = capture()
    const logger = createLogger({ destination: out.destination, level: 'info' })
    const app = await createServiceApp({ logger, metrics: createMetricsRegistry('test') })
    app.get('/echo', async (request) => {
      request.log.info({ req: request }, 'handling')
      return { ok: true }
    })
    const res = await app.inject({ method: 'GET', url: '/echo', headers: { authorization: `Bearer ${apiKey}`, 'x-align-signature': 'sha256=deadbeef' } })
    expect(res.statusCode).toBe(200)
    await app.close()
    expect(out.text()).toContain('"url":"/echo"')
    expect(out.text()).not.toContain(apiKey)
    expect(out.text()).not.toContain('deadbeef')
  })

  it("puts the request id on every line of a request's logger and its children, and still redacts them", async () => {
    const out = capture()
    const logger = createLogger({ destination: out.destination, level: 'info', name: 'svc' })
    const app = await createServiceApp({ logger, metrics: createMetricsRegistry('test') })
    app.get('/work', async (request) => {
      request.log.info({ apiKey, connection: { hmacSecret } }, 'working')
      request.log.child({ component: 'inner' }).warn({ password: 'hunter2' }, 'nested')
      return { ok: true }
    })
    const first = await app.inject({ method: 'GET', url: '/work' })
    const second = await app.inject({ method: 'GET', url: '/work' })
    expect([first.statusCode, second.statusCode]).toEqual([200, 200])
    await app.close()
    const lines = out.lines.map((line) => JSON.parse(line) as Record<string, unknown>)
    const working = lines.filter((line) => line.msg === 'working')
    const nested = lines.filter((line) => line.msg === 'nested')
    expect(working.map((line) => line.reqId)).toEqual(['req-1', 'req-2'])
    expect(nested.map((line) => [line.reqId, line.component, line.name])).toEqual([['req-1', 'inner', 'svc'], ['req-2', 'inner', 'svc']])
    expect(working[0]).toMatchObject({ apiKey: '[REDACTED]', connection: { hmacSecret: '[REDACTED]' }, name: 'svc' })
    expect(nested[0]).toMatchObject({ password: '[REDACTED]' })
    // Fastify's own request lines carry the id too.
    expect(lines.filter((line) => line.msg === 'request completed').map((line) => line.reqId)).toEqual(['req-1', 'req-2'])
    for (const secret of [apiKey, hmacSecret, 'hunter2']) expect(out.text()).not.toContain(secret)
  })

  it('a request logger with non-string bindings or options keeps pino\'s own redaction', () => {
    const out = capture()
    const logger = createLogger({ destination: out.destination, level: 'info' })
    requestChildLogger(logger, { reqId: 'r-1', connection: { apiKey } }, {}).info('object binding')
    requestChildLogger(logger, { reqId: 'r-2' }, { level: 'warn' }).info('below its level')
    requestChildLogger(logger, { reqId: 'r-3', 'odd"key': 'x"y' }, {}).info('escaped')
    const lines = out.lines.map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatchObject({ reqId: 'r-1', connection: { apiKey: '[REDACTED]' } })
    expect(lines[1]).toMatchObject({ reqId: 'r-3', 'odd"key': 'x"y', msg: 'escaped' })
    expect(out.text()).not.toContain(apiKey)
  })
})
