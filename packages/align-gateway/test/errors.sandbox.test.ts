// Error classes, retries, 429, timeout, abort and redaction against the Align sandbox's faults.
import { inspect } from 'node:util'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  AlignApiError,
  AlignAuthError,
  AlignConflictError,
  AlignConnectionError,
  AlignNotFoundError,
  AlignRateLimitError,
  AlignServerError,
  AlignValidationError,
  closeAlignPools,
} from '../src/index.js'
import { gatewayFor, localId, newOrgGateway, startSandbox, type Sandbox, type TestGateway } from './helpers/sandbox.js'

let sb: Sandbox
let t: TestGateway
let projectId: string
let userId: string

beforeAll(async () => {
  sb = await startSandbox()
  t = await newOrgGateway(sb)
  const localProject = localId('project')
  projectId = (
    await t.gateway.createProject({ name: 'Errors', externalRef: { externalType: 'project', externalId: localProject } }, { idempotencyKey: localProject })
  ).id
  const localUser = localId('user')
  userId = (
    await t.gateway.inviteUser(
      { email: `${localUser}@example.com`, name: 'Bob', role: 'developer', externalRef: { externalType: 'user', externalId: localUser } },
      { idempotencyKey: localUser },
    )
  ).userId
  const engagement = localId('engagement')
  await t.gateway.addProjectMember(projectId, userId, { externalRef: { externalType: 'project_member', externalId: engagement } }, { idempotencyKey: engagement })
})

afterEach(async () => {
  await sb.control.clearFaults()
})

afterAll(async () => {
  await sb?.close()
  await closeAlignPools()
})

function entry(externalId = localId('te')) {
  return { userId, workDate: '2025-02-03', minutes: 60, description: 'x', billable: true, externalRef: { externalType: 'time_entry' as const, externalId } }
}

async function failure(promise: Promise<unknown>): Promise<AlignApiError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the call to fail')
    },
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(AlignApiError)
  return error as AlignApiError
}

/** The key and its header appear nowhere: message, properties, JSON, inspect, cause chain. */
function expectRedacted(error: unknown, apiKey: string) {
  const views = [String((error as Error).message), String((error as Error).stack), JSON.stringify(error), inspect(error, { depth: 20, showHidden: true })]
  for (const view of views) {
    expect(view).not.toContain(apiKey)
    expect(view).not.toMatch(/Bearer\s/)
  }
}

/** Time entries in the sandbox's state that carry this Illumera id. */
async function entriesWith(externalId: string): Promise<string[]> {
  const state = await sb.control.state(t.organizationId)
  return state.timeEntries.filter((e) => e.externalRef?.externalId === externalId).map((e) => e.id)
}

describe('one class per failure kind', () => {
  it('401 → AlignAuthError for an unknown key and for a revoked key', async () => {
    const unknown = gatewayFor(sb, 'align_unknown_key_1234567890')
    const error = await failure(unknown.gateway.getMe())
    expect(error).toBeInstanceOf(AlignAuthError)
    expect(error).toMatchObject({ status: 401, code: 'unauthorized', method: 'GET', path: '/me', requestId: expect.any(String) })
    expectRedacted(error, unknown.apiKey)

    const { apiKey } = await sb.control.createKey(t.organizationId, { scope: 'organization' })
    const revoked = gatewayFor(sb, apiKey)
    await revoked.gateway.getMe()
    await sb.control.revokeKey(apiKey)
    const after = await failure(revoked.gateway.getMe())
    expect(after).toBeInstanceOf(AlignAuthError)
    expect(after.status).toBe(401)
    expectRedacted(after, apiKey)
  })

  it('403 → AlignAuthError for a project-scoped key outside its project', async () => {
    const { apiKey } = await sb.control.createKey(t.organizationId, { scope: 'project', projectId })
    const scoped = gatewayFor(sb, apiKey)
    expect((await scoped.gateway.getMe()).scope).toBe('project')
    const local = localId('project')
    const error = await failure(scoped.gateway.createProject({ name: 'nope', externalRef: { externalType: 'project', externalId: local } }, { idempotencyKey: local }))
    expect(error).toBeInstanceOf(AlignAuthError)
    expect(error).toMatchObject({ status: 403, code: 'forbidden' })
    expect(scoped.attempts.at(-1)!.attempt).toBe(1)
  })

  it('400 → AlignValidationError naming the field', async () => {
    const bad = { ...entry(), minutes: -5 }
    const error = await failure(t.gateway.createTimeEntry(projectId, bad, { idempotencyKey: bad.externalRef.externalId }))
    expect(error).toBeInstanceOf(AlignValidationError)
    expect(error).toMatchObject({ status: 400, code: 'validation_error' })
    expect(error.message).toContain('minutes')
  })

  it('422 → AlignValidationError for a user who is not a member, and for a reused Idempotency-Key', async () => {
    const localUser = localId('user')
    const outsider = await t.gateway.inviteUser(
      { email: `${localUser}@example.com`, name: 'Out', role: 'developer', externalRef: { externalType: 'user', externalId: localUser } },
      { idempotencyKey: localUser },
    )
    const input = { ...entry(), userId: outsider.userId }
    const notMember = await failure(t.gateway.createTimeEntry(projectId, input, { idempotencyKey: input.externalRef.externalId }))
    expect(notMember).toBeInstanceOf(AlignValidationError)
    expect(notMember).toMatchObject({ status: 422, code: 'user_not_member' })

    const first = entry()
    await t.gateway.createTimeEntry(projectId, first, { idempotencyKey: first.externalRef.externalId })
    const reused = await failure(
      t.gateway.createTimeEntry(projectId, { ...first, minutes: 61 }, { idempotencyKey: first.externalRef.externalId }),
    )
    expect(reused).toBeInstanceOf(AlignValidationError)
    expect(reused).toMatchObject({ status: 422, code: 'idempotency_key_reused' })
  })

  it('404 → AlignNotFoundError, not retried even on a GET', async () => {
    const before = t.attempts.length
    const error = await failure(t.gateway.getUser('00000000-0000-4000-8000-000000000000'))
    expect(error).toBeInstanceOf(AlignNotFoundError)
    expect(error).toMatchObject({ status: 404, code: 'not_found', path: '/users/00000000-0000-4000-8000-000000000000' })
    expect(t.attempts.slice(before).map((a) => a.attempt)).toEqual([1])
  })

  it('409 → AlignConflictError for an illegal transition, not retried even with a key', async () => {
    const input = entry()
    const created = await t.gateway.createTimeEntry(projectId, input, { idempotencyKey: input.externalRef.externalId })
    await t.gateway.submitTimeEntry(created.id)
    const before = t.attempts.length
    const error = await failure(t.gateway.submitTimeEntry(created.id, { idempotencyKey: localId('submit') }))
    expect(error).toBeInstanceOf(AlignConflictError)
    expect(error).toMatchObject({ status: 409, code: 'invalid_state' })
    expect(t.attempts.length - before).toBe(1)
  })
})

describe('retries', () => {
  it('5xx on a GET is retried with backoff until it succeeds', async () => {
    await sb.control.setFaults({ failNextRequests: 2, status: 503 })
    const before = t.attempts.length
    const me = await t.gateway.getMe()
    expect(me.organizationId).toBe(t.organizationId)
    expect(t.attempts.slice(before).map((a) => [a.attempt, a.status])).toEqual([
      [1, 503],
      [2, 503],
      [3, 200],
    ])
  })

  it('5xx past maxRetries surfaces as AlignServerError', async () => {
    const once = gatewayFor(sb, t.apiKey, { maxRetries: 1 })
    await sb.control.setFaults({ failNextRequests: 5, status: 500 })
    const error = await failure(once.gateway.getMe())
    expect(error).toBeInstanceOf(AlignServerError)
    expect(error).toMatchObject({ status: 500 })
    expect(once.attempts.map((a) => a.attempt)).toEqual([1, 2])
    expectRedacted(error, t.apiKey)
  })

  it('a POST without an Idempotency-Key is never retried', async () => {
    const input = entry()
    const created = await t.gateway.createTimeEntry(projectId, input, { idempotencyKey: input.externalRef.externalId })
    await sb.control.setFaults({ failNextRequests: 1, status: 503 })
    const before = t.attempts.length
    await expect(t.gateway.submitTimeEntry(created.id)).rejects.toBeInstanceOf(AlignServerError)
    expect(t.attempts.length - before).toBe(1)
  })

  it('a 5xx create with an Idempotency-Key is retried with the same key and creates one entity', async () => {
    const input = entry()
    await sb.control.setFaults({ failNextRequests: 1, status: 502 })
    const before = t.attempts.length
    const created = await t.gateway.createTimeEntry(projectId, input, { idempotencyKey: input.externalRef.externalId })
    expect(t.attempts.slice(before).map((a) => a.status)).toEqual([502, 201])
    expect(await entriesWith(input.externalRef.externalId)).toEqual([created.id])
  })

  it('a connection dropped after Align committed is retried with the same key: no duplicate', async () => {
    const input = entry()
    let cleared: Promise<unknown> | undefined
    const dropping = gatewayFor(sb, t.apiKey, {
      retryBaseDelayMs: 200,
      retryMaxDelayMs: 200,
      onResponse: (info) => {
        // The first attempt committed and lost its response: let the retry through.
        if (info.attempt === 1) cleared = Promise.resolve(sb.control.clearFaults())
      },
    })
    await sb.control.setFaults({ dropAfterCommitRate: 1 })
    const created = await dropping.gateway.createTimeEntry(projectId, input, { idempotencyKey: input.externalRef.externalId })
    await cleared
    expect(dropping.attempts.map((a) => [a.attempt, a.status])).toEqual([
      [1, 0],
      [2, 201],
    ])
    expect(await entriesWith(input.externalRef.externalId)).toEqual([created.id])
  })

  it('a dropped connection surfaces as AlignConnectionError with its cause, and leaks no key', async () => {
    const noRetry = gatewayFor(sb, t.apiKey, { maxRetries: 0 })
    await sb.control.setFaults({ dropAfterCommitRate: 1 })
    const input = entry()
    const error = await failure(noRetry.gateway.createTimeEntry(projectId, input, { idempotencyKey: input.externalRef.externalId }))
    expect(error).toBeInstanceOf(AlignConnectionError)
    expect(error).toMatchObject({ status: 0, code: 'connection_error', requestId: null })
    expect(error.cause).toBeInstanceOf(Error)
    expectRedacted(error, t.apiKey)
  })
})

describe('rate limit', () => {
  it('429 is thrown at once as AlignRateLimitError with Retry-After', async () => {
    const { apiKey } = await sb.control.createKey(t.organizationId, { scope: 'organization' })
    const limited = gatewayFor(sb, apiKey)
    await sb.control.setFaults({ rateLimitPerMinute: 3 })
    await limited.gateway.getMe()
    await limited.gateway.getMe()
    await limited.gateway.getMe()
    expect(limited.gateway.lastRateLimit).toMatchObject({ limit: 3, remaining: 0 })
    const error = await failure(limited.gateway.getMe())
    expect(error).toBeInstanceOf(AlignRateLimitError)
    const rateLimited = error as AlignRateLimitError
    expect(rateLimited).toMatchObject({ status: 429, code: 'rate_limited' })
    expect(rateLimited.retryAfterSeconds).toBeGreaterThanOrEqual(1)
    expect(rateLimited.retryAfterSeconds).toBeLessThanOrEqual(60)
    expect(rateLimited.rateLimit).toMatchObject({ limit: 3, remaining: 0 })
    expect(limited.attempts.map((a) => a.status)).toEqual([200, 200, 200, 429])
    expectRedacted(error, apiKey)
  })
})

describe('timeouts and cancellation', () => {
  it('an attempt slower than timeoutMs is a timeout AlignConnectionError, retried on a GET', async () => {
    const hasty = gatewayFor(sb, t.apiKey, { timeoutMs: 100, maxRetries: 1 })
    await sb.control.setFaults({ latencyMs: 1_000 })
    const error = await failure(hasty.gateway.getMe())
    expect(error).toBeInstanceOf(AlignConnectionError)
    expect(error).toMatchObject({ status: 0, code: 'timeout' })
    expect(error.message).toContain('100 ms')
    expect(hasty.attempts.map((a) => [a.attempt, a.status])).toEqual([
      [1, 0],
      [2, 0],
    ])
    expectRedacted(error, t.apiKey)
  })

  it('an AbortSignal cancels a request in flight', async () => {
    await sb.control.setFaults({ latencyMs: 2_000 })
    const controller = new AbortController()
    const pending = t.gateway.getMe({ signal: controller.signal })
    setTimeout(() => controller.abort(), 50)
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' })
  })

  it('an AbortSignal cancels during a backoff wait, and no further attempt is made', async () => {
    const patient = gatewayFor(sb, t.apiKey, { retryBaseDelayMs: 10_000, retryMaxDelayMs: 10_000, maxRetries: 3 })
    await sb.control.setFaults({ failNextRequests: 5, status: 503 })
    const controller = new AbortController()
    const pending = patient.gateway.getMe({ signal: controller.signal })
    await expect.poll(() => patient.attempts.length, { interval: 5, timeout: 5_000 }).toBe(1)
    controller.abort()
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' })
    expect(patient.attempts).toHaveLength(1)
  })

  it('an already aborted signal sends nothing; a custom reason is passed through', async () => {
    const before = t.attempts.length
    await expect(t.gateway.getMe({ signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' })
    const reason = new Error('shutting down')
    await expect(t.gateway.getMe({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
    expect(t.attempts.length).toBe(before)
  })
})
