// No log line carries a webhook body, a signature or a secret, whatever the outcome.
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
})
