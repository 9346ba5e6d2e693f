// Wire-level faults the sandbox cannot produce (malformed 2xx bodies, a reset before any
// response, an undici error that quotes the request headers), made with undici's MockAgent.
import { inspect } from 'node:util'
import { MockAgent } from 'undici'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  AlignConnectionError,
  AlignGateway,
  AlignResponseValidationError,
  type AlignResponseInfo,
} from '../src/index.js'

const origin = 'http://align.test'
const apiKey = 'align_live_SECRET_wire_key_0123456789'

const validEntry = {
  id: 'te_1',
  organizationId: 'org_1',
  projectId: 'p_1',
  userId: 'u_1',
  workDate: '2025-01-15',
  hours: '2.5',
  minutes: 150,
  description: 'Auth module',
  billable: true,
  status: 'draft',
  createdAt: '2025-01-15T12:00:00Z',
}
const entryInput = {
  userId: 'u_1',
  workDate: '2025-01-15',
  minutes: 150,
  description: 'Auth module',
  billable: true,
  externalRef: { externalType: 'time_entry' as const, externalId: 'local-te-1' },
}

let agent: MockAgent
let infos: AlignResponseInfo[]
let gateway: AlignGateway

beforeEach(() => {
  agent = new MockAgent()
  agent.disableNetConnect()
  infos = []
  gateway = new AlignGateway({
    apiKey,
    baseUrl: `${origin}/api/v1`,
    dispatcher: agent,
    retryBaseDelayMs: 1,
    retryMaxDelayMs: 2,
    onResponse: (info) => infos.push(info),
  })
})

afterEach(async () => {
  await agent.close()
})

function expectNoSecret(error: unknown) {
  expect(String((error as Error).message)).not.toContain(apiKey)
  expect(JSON.stringify(error)).not.toContain(apiKey)
  expect(inspect(error, { depth: 10 })).not.toContain(apiKey)
  expect(inspect(error, { depth: 10 })).not.toMatch(/Bearer/)
  let cause = (error as Error).cause
  for (let i = 0; cause && i < 5; i++) {
    expect(inspect(cause, { depth: 10 })).not.toContain(apiKey)
    cause = (cause as Error).cause
  }
}

describe('malformed 2xx bodies', () => {
  it('a body that is not JSON raises AlignResponseValidationError naming the request', async () => {
    agent.get(origin).intercept({ path: '/api/v1/projects/p_1/time-entries', method: 'POST' }).reply(201, '<html>oops</html>')
    const error = await gateway.createTimeEntry('p_1', entryInput, { idempotencyKey: 'k1' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AlignResponseValidationError)
    expect(error).toMatchObject({ status: 201, code: 'invalid_response', method: 'POST', path: '/projects/p_1/time-entries' })
    expect((error as Error).message).toMatch(/POST \/projects\/p_1\/time-entries returned 201 .*not JSON.*oops/)
    expect(infos).toHaveLength(1)
  })

  it('a field of the wrong type is named in the message and in issues', async () => {
    agent
      .get(origin)
      .intercept({ path: '/api/v1/projects/p_1/time-entries', method: 'POST' })
      .reply(201, { ...validEntry, minutes: '150' }, { headers: { 'content-type': 'application/json' } })
    const error = (await gateway.createTimeEntry('p_1', entryInput, { idempotencyKey: 'k1' }).catch((e: unknown) => e)) as AlignResponseValidationError
    expect(error).toBeInstanceOf(AlignResponseValidationError)
    expect(error.message).toContain('/minutes')
    expect(error.message).toContain('"150"')
    expect(error.issues[0]).toMatchObject({ path: '/minutes' })
  })

  it('a missing field and an unknown status are both reported', async () => {
    const { id: _id, ...noId } = validEntry
    agent
      .get(origin)
      .intercept({ path: '/api/v1/time-entries/te_1/submit', method: 'POST' })
      .reply(200, { ...noId, status: 'teleported' })
    const error = (await gateway.submitTimeEntry('te_1').catch((e: unknown) => e)) as AlignResponseValidationError
    expect(error).toBeInstanceOf(AlignResponseValidationError)
    const paths = error.issues.map((i) => i.path)
    expect(paths).toContain('/id')
    expect(paths).toContain('/status')
  })

  it('an empty 2xx body where JSON is expected is an error, not undefined', async () => {
    agent.get(origin).intercept({ path: '/api/v1/me', method: 'GET' }).reply(200, '')
    await expect(gateway.getMe()).rejects.toThrow(/returned 200 with an unexpected body: \(body\): body is not JSON \(empty\)/)
  })

  it('a malformed 2xx is not retried, even on a GET', async () => {
    agent.get(origin).intercept({ path: '/api/v1/me', method: 'GET' }).reply(200, '{"apiKeyId":').times(3)
    await expect(gateway.getMe()).rejects.toBeInstanceOf(AlignResponseValidationError)
    expect(infos.map((i) => i.attempt)).toEqual([1])
  })

  it('never quotes a webhook hmacSecret from a malformed response', async () => {
    const hmacSecret = 'whsec_' + 'c'.repeat(48)
    agent
      .get(origin)
      .intercept({ path: '/api/v1/webhooks', method: 'POST' })
      .reply(201, { id: 'wh_1', destinationUrl: 'https://x', eventNames: ['a'], enabled: 'yes', hmacSecret, createdAt: 'now' })
    const error = await gateway
      .createWebhook({ destinationUrl: 'https://x', eventNames: ['a'] }, { idempotencyKey: 'wh' })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AlignResponseValidationError)
    expect((error as Error).message).toContain('/enabled')
    expect(JSON.stringify(error)).not.toContain(hmacSecret)
    expect(inspect(error, { depth: 10 })).not.toContain(hmacSecret)
  })
})

describe('connection failures', () => {
  it('a reset before any response becomes AlignConnectionError with the original as cause, retried for a GET', async () => {
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })
    agent.get(origin).intercept({ path: '/api/v1/users/u_1', method: 'GET' }).replyWithError(reset).times(3)
    const error = (await gateway.getUser('u_1').catch((e: unknown) => e)) as AlignConnectionError
    expect(error).toBeInstanceOf(AlignConnectionError)
    expect(error).toMatchObject({ status: 0, code: 'connection_error', method: 'GET', path: '/users/u_1', requestId: null })
    expect(error.message).toContain('ECONNRESET')
    expect(error.cause).toBeInstanceOf(Error)
    expect(infos.map((i) => [i.attempt, i.status])).toEqual([
      [1, 0],
      [2, 0],
      [3, 0],
    ])
  })

  it('a POST without an Idempotency-Key is not retried after a reset', async () => {
    agent.get(origin).intercept({ path: '/api/v1/time-entries/te_1/submit', method: 'POST' }).replyWithError(new Error('boom')).times(3)
    await expect(gateway.submitTimeEntry('te_1')).rejects.toBeInstanceOf(AlignConnectionError)
    expect(infos).toHaveLength(1)
  })

  it('recovers when a retry succeeds', async () => {
    const scope = agent.get(origin)
    scope.intercept({ path: '/api/v1/time-entries/te_1/submit', method: 'POST' }).replyWithError(new Error('boom'))
    scope.intercept({ path: '/api/v1/time-entries/te_1/submit', method: 'POST' }).reply(200, { ...validEntry, status: 'submitted' })
    const entry = await gateway.submitTimeEntry('te_1', { idempotencyKey: 'submit-1' })
    expect(entry.status).toBe('submitted')
    expect(infos.map((i) => i.status)).toEqual([0, 200])
  })
})

describe('redaction of foreign errors', () => {
  it('scrubs the key from an undici error that quotes the request headers, and keeps it as cause', async () => {
    // MockAgent's "not matched for headers" error prints every request header, Authorization included.
    agent
      .get(origin)
      .intercept({ path: '/api/v1/me', method: 'GET', headers: { authorization: 'Bearer someone-else' } })
      .reply(200, {})
    const error = (await gateway.getMe().catch((e: unknown) => e)) as AlignConnectionError
    expect(error).toBeInstanceOf(AlignConnectionError)
    const cause = error.cause as Error
    expect(cause.name).toBe('MockNotMatchedError')
    expect(cause.message).toContain('[REDACTED]')
    expect(cause.message).toContain('headers')
    expectNoSecret(error)
  })

  it('scrubs the key when a server echoes it in an error body', async () => {
    agent
      .get(origin)
      .intercept({ path: '/api/v1/me', method: 'GET' })
      .reply(401, { error: { code: 'unauthorized', message: `unknown key ${apiKey}` }, requestId: 'r' })
    const error = await gateway.getMe().catch((e: unknown) => e)
    expect((error as Error).message).toContain('unknown key [REDACTED]')
    expectNoSecret(error)
  })

  it('the gateway itself never shows its key', () => {
    expect(inspect(gateway, { depth: 10 })).not.toContain(apiKey)
    expect(JSON.stringify(gateway)).not.toContain(apiKey)
    expect(JSON.stringify(gateway)).toBe(JSON.stringify({ baseUrl: `${origin}/api/v1` }))
    expect(Object.values(gateway)).toEqual([])
  })
})

describe('pagination against an inconsistent total', () => {
  const link = (i: number) => ({ id: `l${i}`, entityType: 'user', entityId: `u${i}`, externalId: `x${i}`, externalRef: null, createdAt: 'now' })

  it('stops on a short page even when total promises more', async () => {
    const scope = agent.get(origin)
    scope.intercept({ path: '/api/v1/integration-links?page=1&pageSize=10', method: 'GET' }).reply(200, { data: Array.from({ length: 10 }, (_, i) => link(i)), total: 1000 })
    scope.intercept({ path: '/api/v1/integration-links?page=2&pageSize=10', method: 'GET' }).reply(200, { data: [link(10), link(11)], total: 1000 })
    const ids: string[] = []
    for await (const l of gateway.integrationLinks({ pageSize: 10 })) ids.push(l.id)
    expect(ids).toHaveLength(12)
    expect(infos).toHaveLength(2)
  })

  it('stops once total links were seen even if pages keep coming full', async () => {
    const scope = agent.get(origin)
    for (let page = 1; page <= 3; page++) {
      scope
        .intercept({ path: `/api/v1/integration-links?page=${page}&pageSize=2`, method: 'GET' })
        .reply(200, { data: [link(page * 2), link(page * 2 + 1)], total: 3 })
    }
    const ids: string[] = []
    for await (const l of gateway.integrationLinks({ pageSize: 2 })) ids.push(l.id)
    expect(ids).toHaveLength(4)
    expect(infos).toHaveLength(2)
  })
})

