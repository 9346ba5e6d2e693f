// Misuse is refused before anything is sent (the MockAgent has no interceptor: any request
// would fail as a connection error, not as the TypeError/RangeError asserted here).
import { MockAgent } from 'undici'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AlignGateway, type AlignResponseInfo } from '../src/index.js'

let agent: MockAgent
let gateway: AlignGateway
let attempts: AlignResponseInfo[]

beforeEach(() => {
  agent = new MockAgent()
  agent.disableNetConnect()
  attempts = []
  gateway = new AlignGateway({ apiKey: 'k', baseUrl: 'http://align.test/api/v1', dispatcher: agent, onResponse: (i) => attempts.push(i) })
})
afterEach(async () => {
  expect(attempts).toEqual([])
  await agent.close()
})

const projectInput = { name: 'P', externalRef: { externalType: 'project' as const, externalId: 'p-1' } }

describe('argument checks', () => {
  it('a create without an idempotencyKey rejects (for callers without type checking)', async () => {
    // @ts-expect-error the key is required by the type
    await expect(gateway.createProject(projectInput, {})).rejects.toThrow(/createProject requires options.idempotencyKey/)
    // @ts-expect-error options are required
    await expect(gateway.createProject(projectInput)).rejects.toThrow(TypeError)
    await expect(gateway.createProject(projectInput, { idempotencyKey: '' })).rejects.toThrow(TypeError)
  })

  it('an externalRef of the wrong kind or without an id rejects', async () => {
    const wrong = { ...projectInput, externalRef: { externalType: 'user', externalId: 'p-1' } }
    // @ts-expect-error externalType is fixed per method
    await expect(gateway.createProject(wrong, { idempotencyKey: 'k' })).rejects.toThrow(/must be 'project'/)
    const empty = { ...projectInput, externalRef: { externalType: 'project' as const, externalId: '' } }
    await expect(gateway.createProject(empty, { idempotencyKey: 'k' })).rejects.toThrow(/externalId/)
  })

  it('an empty id rejects instead of calling a different path', async () => {
    await expect(gateway.getUser('')).rejects.toThrow(/userId must be a non-empty string/)
    await expect(gateway.submitTimeEntry('')).rejects.toThrow(TypeError)
  })

  it('the constructor refuses a missing key and nonsensical options without echoing the key', () => {
    // @ts-expect-error apiKey is required
    expect(() => new AlignGateway({})).toThrow(/apiKey must be a non-empty string/)
    expect(() => new AlignGateway({ apiKey: 'secret-value', timeoutMs: 0 })).toThrow(RangeError)
    expect(() => new AlignGateway({ apiKey: 'secret-value', maxRetries: -1 })).toThrow(RangeError)
    expect(() => new AlignGateway({ apiKey: 'secret-value', baseUrl: 'ftp://x' })).toThrow(/http\(s\)/)
    try {
      new AlignGateway({ apiKey: 'secret-value', baseUrl: 'ftp://x' })
    } catch (error) {
      expect(String(error)).not.toContain('secret-value')
    }
  })

  it('ids are encoded into the path', async () => {
    agent.get('http://align.test').intercept({ path: '/api/v1/users/a%2Fb%3Fc', method: 'GET' }).reply(404, { error: { code: 'not_found', message: 'no' } })
    await expect(gateway.getUser('a/b?c')).rejects.toMatchObject({ status: 404, path: '/users/a%2Fb%3Fc' })
    attempts.length = 0
  })
})
