// No log line carries a webhook body, a signature or a secret, whatever the outcome; a delivery writes one
// line, which serves as its access log.
import { randomUUID } from 'node:crypto'
import { useTestDatabase } from '@illumera/test-harness'
import { describe, expect, it } from 'vitest'
import { post, seedConnection, seedLinkedEntry, signed, startIngest } from './helpers/ingest.js'

const t = useTestDatabase()

describe('logs', () => {
  it('never contain the body, the signature or the secret', async () => {
    const { app, logs, secretBox } = await startIngest(t.db)
    try {
      const seeded = await seedConnection(t.db, secretBox, { secret: 'whsec_SECRET_VALUE_0123456789abcdef0123456789abcdef01234567' })
      const { alignId } = await seedLinkedEntry(t.db, seeded, 'submitted')
      const marker = `BODY_MARKER_${randomUUID()}`
      const body = { organizationId: seeded.orgId, data: { id: alignId, description: marker, reason: marker } }
      const requests = [
        signed(seeded.secret, 'time.approved', body),
        signed(seeded.secret, 'time.rejected', body),
        signed('whsec_WRONG_SECRET_VALUE', 'time.approved', body),
        signed(seeded.secret, 'time.logged', body),
      ]
      const responses = []
      for (const request of requests) responses.push((await post(app, request)).statusCode)
      responses.push((await post(app, requests[0]!)).statusCode)
      expect(responses).toEqual([200, 200, 401, 200, 200])
      const text = logs.text()
      expect(text).toContain('align webhook processed')
      expect(text).toContain('align webhook refused')
      expect(text).toContain(requests[0]!.headers['x-align-delivery-id'])
      expect(text).not.toContain(marker)
      expect(text).not.toContain('SECRET_VALUE')
      for (const request of requests) {
        const hex = request.headers['x-align-signature']!.slice('sha256='.length)
        expect(text).not.toContain(hex)
      }
      expect(text).not.toContain(seeded.connection.webhook_secret!)
    } finally {
      await app.close()
    }
  })
  it('one line per delivery, with what an access log needs (Fastify\'s request lines are off for the route)', async () => {
    const { app, logs, secretBox } = await startIngest(t.db)
    try {
      const seeded = await seedConnection(t.db, secretBox)
      const { alignId } = await seedLinkedEntry(t.db, seeded, 'submitted')
      const request = signed(seeded.secret, 'time.approved', { organizationId: seeded.orgId, data: { id: alignId } })
      const deliveryId = request.headers['x-align-delivery-id']
      for (const [outcome, msg] of [['processed', 'align webhook processed'], ['deduplicated', 'align webhook already processed']] as const) {
        logs.lines.length = 0
        expect((await post(app, request)).statusCode).toBe(200)
        const lines = logs.lines.map((line) => JSON.parse(line))
        expect(lines).toEqual([expect.objectContaining({ level: 30, msg, deliveryId, event: 'time.approved', outcome, status: 200, durationMs: expect.any(Number) })])
      }
      logs.lines.length = 0
      expect((await post(app, signed('whsec_WRONG', 'time.approved', { organizationId: seeded.orgId, data: { id: alignId } }))).statusCode).toBe(401)
      expect(logs.lines.map((line) => JSON.parse(line))).toEqual([expect.objectContaining({ level: 40, msg: 'align webhook refused', reason: 'bad_signature', status: 401 })])
    } finally {
      await app.close()
    }
  })

  it('what Fastify refuses before the pipeline (a body over the limit) is logged once, without the path token', async () => {
    const { app, logs, secretBox } = await startIngest(t.db, { bodyLimit: 64 })
    try {
      const seeded = await seedConnection(t.db, secretBox)
      const request = signed(seeded.secret, 'time.approved', { organizationId: seeded.orgId, data: { note: 'x'.repeat(100) } })
      const token = seeded.connection.webhook_path_token!
      logs.lines.length = 0
      expect((await post(app, request, `/api/webhooks/align/${token}`)).statusCode).toBe(413)
      const lines = logs.lines.map((line) => JSON.parse(line))
      expect(lines).toEqual([expect.objectContaining({ level: 40, msg: 'align webhook refused before the pipeline', status: 413, route: '/api/webhooks/align/:pathToken' })])
      expect(logs.text()).not.toContain(token)
    } finally {
      await app.close()
    }
  })
})
