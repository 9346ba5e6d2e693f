import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createLogger, createMetricsRegistry, createServiceApp } from '../src/index.js'

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
})
