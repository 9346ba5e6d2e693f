// Logs go through pino at info and never carry an API key, Authorization header or hmacSecret.
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { call, entryBody, seedOrg, startReceiver, startSandbox } from './helpers/http.js'

describe('logging', () => {
  it('logs requests and deliveries without secrets', async () => {
    const lines: string[] = []
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk))
        done()
      },
    })
    const sb = await startSandbox({ logger: { stream } })
    const receiver = await startReceiver()
    try {
      const org = await seedOrg(sb, 'log')
      const hook = (await call(sb, 'POST', '/webhooks', { key: org.apiKey, body: { destinationUrl: receiver.url, eventNames: ['time.logged'] } })).body
      await call(sb, 'POST', `/projects/${org.projectId}/time-entries`, { key: org.apiKey, body: entryBody(org.userId, 30) })
      await sb.control.settled()
      const { apiKey } = await sb.control.createKey(org.organizationId, { scope: 'organization' })
      await call(sb, 'DELETE', `/_sandbox/keys/${apiKey}`)
      const log = lines.join('')
      expect(log).toContain('"msg":"incoming request"')
      expect(log).toContain('"msg":"webhook delivered"')
      expect(log).toContain('/_sandbox/keys/[REDACTED]')
      for (const secret of [org.apiKey, apiKey, hook.hmacSecret, 'Bearer']) expect(log).not.toContain(secret)
    } finally {
      await receiver.close()
      await sb.close()
    }
  })
})
