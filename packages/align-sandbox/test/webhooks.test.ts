// Webhook subscriptions and deliveries: the hmacSecret shown once, signatures checked with
// node:crypto, the catalog's events to subscribed names only, retries under one delivery id,
// the deliveries log, and cancellation when a subscription is deleted.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { WEBHOOK_EVENT_NAMES, type AlignSandbox } from '../src/index.js'
import { call, entryBody, seedOrg, startReceiver, startSandbox, type ReceivedWebhook } from './helpers/http.js'

let sb: AlignSandbox
const receivers: Array<{ close(): Promise<void> }> = []

beforeAll(async () => {
  sb = await startSandbox({ webhookRetryDelaysMs: [20, 40], webhookTimeoutMs: 500 })
})
afterEach(async () => {
  await sb.control.clearFaults()
  await Promise.all(receivers.splice(0).map((r) => r.close()))
})
afterAll(() => sb.close())

function verify(hook: ReceivedWebhook, secret: string): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(hook.rawBody).digest('hex')}`)
  const given = Buffer.from(String(hook.headers['x-align-signature']))
  return given.length === expected.length && timingSafeEqual(given, expected)
}

async function subscribe(key: string, url: string, eventNames: string[] = [...WEBHOOK_EVENT_NAMES]) {
  const res = await call(sb, 'POST', '/webhooks', { key, body: { destinationUrl: url, eventNames, description: 'Illumera integration' } })
  expect(res.status).toBe(201)
  return res.body as { id: string; hmacSecret: string }
}

async function receiver(respond?: Parameters<typeof startReceiver>[0]) {
  const r = await startReceiver(respond)
  receivers.push(r)
  return r
}

describe('POST/GET/DELETE /webhooks', () => {
  it('returns the hmacSecret once; lists without it; deletes (204, then 404)', async () => {
    const { apiKey } = await sb.control.createOrg()
    const res = await call(sb, 'POST', '/webhooks', {
      key: apiKey,
      body: { destinationUrl: 'http://127.0.0.1:9/hook', eventNames: ['time.approved', 'time.rejected'], description: 'Illumera integration' },
    })
    expect(res.status).toBe(201)
    expect(res.body).toMatchObject({ destinationUrl: 'http://127.0.0.1:9/hook', eventNames: ['time.approved', 'time.rejected'], enabled: true, description: 'Illumera integration' })
    expect(res.body.hmacSecret).toMatch(/^whsec_[0-9a-f]{48}$/)
    const list = await call(sb, 'GET', '/webhooks', { key: apiKey })
    expect(list.body.data).toHaveLength(1)
    expect(JSON.stringify(list.body)).not.toContain(res.body.hmacSecret)
    expect(JSON.stringify(await sb.control.state((await call(sb, 'GET', '/me', { key: apiKey })).body.organizationId))).not.toContain(res.body.hmacSecret)
    expect((await call(sb, 'DELETE', `/webhooks/${res.body.id}`, { key: apiKey })).status).toBe(204)
    expect((await call(sb, 'DELETE', `/webhooks/${res.body.id}`, { key: apiKey })).status).toBe(404)
  })

  it('400 for a bad URL, an unknown event name or no events', async () => {
    const { apiKey } = await sb.control.createOrg()
    for (const [body, field] of [
      [{ destinationUrl: 'ftp://x', eventNames: ['time.logged'] }, 'destinationUrl'],
      [{ destinationUrl: 'http://x', eventNames: ['time.exploded'] }, 'eventNames.0'],
      [{ destinationUrl: 'http://x', eventNames: [] }, 'eventNames'],
      [{ eventNames: ['time.logged'] }, 'destinationUrl'],
    ] as const) {
      const res = await call(sb, 'POST', '/webhooks', { key: apiKey, body })
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect(res.body.error.field).toBe(field)
    }
  })
})

describe('deliveries', () => {
  it('are signed with the subscription secret over the raw body, with the documented headers', async () => {
    const org = await seedOrg(sb, 'sig')
    const r = await receiver()
    const sub = await subscribe(org.apiKey, r.url, ['time.logged'])
    const before = Math.floor(Date.now() / 1000)
    const entry = (await call(sb, 'POST', `/projects/${org.projectId}/time-entries`, { key: org.apiKey, body: entryBody(org.userId, 90, 'te-sig') })).body
    await sb.control.settled()
    expect(r.received).toHaveLength(1)
    const hook = r.received[0]!
    expect(verify(hook, sub.hmacSecret)).toBe(true)
    expect(verify({ ...hook, rawBody: Buffer.concat([hook.rawBody, Buffer.from(' ')]) }, sub.hmacSecret)).toBe(false)
    expect(verify(hook, 'whsec_wrong')).toBe(false)
    expect(hook.headers['x-align-event']).toBe('time.logged')
    expect(hook.deliveryId).toMatch(/^[0-9a-f-]{36}$/)
    const timestamp = Number(hook.headers['x-align-timestamp'])
    expect(timestamp).toBeGreaterThanOrEqual(before)
    expect(timestamp).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000))
    expect(hook.body).toEqual({ organizationId: org.organizationId, data: entry })
    expect(hook.body.data.externalRef).toEqual({ provider: 'illumera', externalType: 'time_entry', externalId: 'te-sig' })
  })

  it('every state change emits its catalog event, only to subscribers of that event', async () => {
    const org = await seedOrg(sb, 'catalog')
    const all = await receiver()
    const onlyApproved = await receiver()
    await subscribe(org.apiKey, all.url)
    await subscribe(org.apiKey, onlyApproved.url, ['time.approved'])
    const k = org.apiKey
    const entry = (await call(sb, 'POST', `/projects/${org.projectId}/time-entries`, { key: k, body: entryBody(org.userId, 60, 'te-cat') })).body
    await call(sb, 'PATCH', `/time-entries/${entry.id}`, { key: k, body: { minutes: 45 } })
    await call(sb, 'POST', `/time-entries/${entry.id}/submit`, { key: k })
    await sb.control.reject(entry.id, 'Wrong code')
    await call(sb, 'PATCH', `/time-entries/${entry.id}`, { key: k, body: { minutes: 40 } })
    await call(sb, 'POST', `/time-entries/${entry.id}/submit`, { key: k })
    await sb.control.approve(entry.id)
    await sb.control.lock(entry.id)
    await sb.control.unlock(entry.id)
    await call(sb, 'POST', `/time-entries/${entry.id}/submit`, { key: k })
    await sb.control.approve(entry.id)
    await sb.control.invoice(entry.id)
    const logged = await sb.control.logTimeEntry(org.organizationId, { projectId: org.projectId, userId: org.userId, workDate: '2025-03-01', minutes: 30 })
    await sb.control.editTimeEntry(logged.id, { minutes: 35 })
    await sb.control.delete(logged.id)
    const user = (await call(sb, 'POST', '/users/invite', { key: k, body: { email: 'ev@example.com', name: 'Ev', role: 'developer', externalRef: { provider: 'illumera', externalType: 'user', externalId: 'u-ev' } } })).body
    await call(sb, 'PATCH', `/users/${user.userId}`, { key: k, body: { name: 'Eve' } })
    await sb.control.activateUser(user.userId)
    await call(sb, 'POST', `/projects/${org.projectId}/members/${user.userId}`, { key: k, body: { externalRef: { provider: 'illumera', externalType: 'project_member', externalId: 'm-ev' } } })
    await sb.control.setMemberRate(org.projectId, user.userId, 5000)
    await call(sb, 'DELETE', `/projects/${org.projectId}/members/${user.userId}`, { key: k })
    const page = (await call(sb, 'POST', `/projects/${org.projectId}/wiki-pages`, { key: k, body: { title: 'W', content: 'c' } })).body
    await call(sb, 'PATCH', `/wiki-pages/${page.id}`, { key: k, body: { title: 'W2' } })
    await sb.control.settled()

    expect(all.received.map((h) => h.event)).toEqual([
      'time.logged',
      'integration_link.created',
      'time.updated',
      'time.submitted',
      'time.rejected',
      'time.updated',
      'time.submitted',
      'time.approved',
      'time.locked',
      'time.unlocked',
      'time.submitted',
      'time.approved',
      'time.invoiced',
      'time.logged',
      'time.updated',
      'time.deleted',
      'user.invited',
      'integration_link.created',
      'user.updated',
      'user.linked',
      'project_member.added',
      'integration_link.created',
      'project_member.updated',
      'project_member.removed',
      'wiki_page.created',
      'wiki_page.updated',
    ])
    expect(onlyApproved.received.map((h) => h.event)).toEqual(['time.approved', 'time.approved'])
    const byEvent = (name: string) => all.received.filter((h) => h.event === name)
    expect(byEvent('time.rejected')[0]!.body.data).toMatchObject({ id: entry.id, status: 'rejected', reason: 'Wrong code', rejectionReason: 'Wrong code' })
    expect(byEvent('time.logged')[1]!.body.data).toMatchObject({ id: logged.id, externalRef: null })
    expect(byEvent('integration_link.created')[0]!.body.data).toMatchObject({ entityType: 'time_entry', entityId: entry.id, externalId: 'te-cat' })
    expect(byEvent('project_member.added')[0]!.body.data.externalRef).toEqual({ provider: 'illumera', externalType: 'project_member', externalId: 'm-ev' })
    expect(new Set(all.received.map((h) => h.deliveryId)).size).toBe(all.received.length)
    expect(all.received.every((h) => h.body.organizationId === org.organizationId)).toBe(true)
  })

  it('a failed delivery is retried with backoff under the same delivery id, and the log shows each attempt', async () => {
    const org = await seedOrg(sb, 'retry')
    const r = await receiver((_hook, index) => (index === 0 ? 500 : 200))
    await subscribe(org.apiKey, r.url, ['time.logged'])
    await call(sb, 'POST', `/projects/${org.projectId}/time-entries`, { key: org.apiKey, body: entryBody(org.userId, 30) })
    await sb.control.settled()
    expect(r.received).toHaveLength(2)
    expect(r.received[1]!.deliveryId).toBe(r.received[0]!.deliveryId)
    expect(r.received[1]!.rawBody.equals(r.received[0]!.rawBody)).toBe(true)
    const [delivery] = await sb.control.deliveries(org.organizationId)
    expect(delivery).toMatchObject({ id: r.received[0]!.deliveryId, eventName: 'time.logged', status: 'delivered', destinationUrl: r.url })
    expect(delivery!.attempts.map((a) => [a.attempt, a.status])).toEqual([
      [1, 500],
      [2, 200],
    ])
    expect(delivery!.attempts[0]!.error).toContain('500')
    expect(Date.parse(delivery!.attempts[1]!.at) - Date.parse(delivery!.attempts[0]!.at)).toBeGreaterThanOrEqual(15)
  })

  it('gives up after the last retry delay, and retries a receiver that does not answer in time', async () => {
    const org = await seedOrg(sb, 'giveup')
    const r = await receiver(() => 503)
    await subscribe(org.apiKey, r.url, ['time.logged'])
    await sb.control.logTimeEntry(org.organizationId, { projectId: org.projectId, userId: org.userId, workDate: '2025-01-01', minutes: 5 })
    await sb.control.settled()
    expect(r.received).toHaveLength(3) // first attempt + two retries ([20, 40] ms)
    const [delivery] = await sb.control.deliveries(org.organizationId)
    expect(delivery!.status).toBe('failed')

    const slow = await seedOrg(sb, 'slow')
    const hanging = await receiver((_hook, index) => (index === 0 ? new Promise((resolve) => setTimeout(() => resolve(200), 1_500)) : 200))
    await subscribe(slow.apiKey, hanging.url, ['time.logged'])
    await sb.control.logTimeEntry(slow.organizationId, { projectId: slow.projectId, userId: slow.userId, workDate: '2025-01-01', minutes: 5 })
    await sb.control.settled()
    const [timed] = await sb.control.deliveries(slow.organizationId)
    expect(timed!.status).toBe('delivered')
    expect(timed!.attempts[0]).toMatchObject({ status: null, error: expect.stringContaining('500 ms') })
    expect(timed!.attempts[1]!.status).toBe(200)
  })

  it('an unreachable receiver is recorded as a failed attempt; deleting the subscription cancels its retries', async () => {
    const org = await seedOrg(sb, 'cancel')
    const r = await receiver(() => 500)
    const sub = await subscribe(org.apiKey, r.url, ['time.logged'])
    await sb.control.logTimeEntry(org.organizationId, { projectId: org.projectId, userId: org.userId, workDate: '2025-01-01', minutes: 5 })
    await call(sb, 'DELETE', `/webhooks/${sub.id}`, { key: org.apiKey })
    await sb.control.settled()
    const [delivery] = await sb.control.deliveries(org.organizationId)
    expect(delivery!.status).toBe('cancelled')
    expect(r.received.length).toBeLessThanOrEqual(1)

    const closed = await receiver()
    const url = closed.url
    await closed.close()
    const dead = await seedOrg(sb, 'dead')
    await subscribe(dead.apiKey, url, ['time.logged'])
    await sb.control.logTimeEntry(dead.organizationId, { projectId: dead.projectId, userId: dead.userId, workDate: '2025-01-01', minutes: 5 })
    await sb.control.settled()
    const [unreachable] = await sb.control.deliveries(dead.organizationId)
    expect(unreachable!.status).toBe('failed')
    expect(unreachable!.attempts.every((a) => a.status === null && a.error)).toBe(true)
  })

  it('GET /_sandbox/deliveries lists them over HTTP, and POST /_sandbox/deliveries/settle waits', async () => {
    const org = await seedOrg(sb, 'list')
    const r = await receiver()
    await subscribe(org.apiKey, r.url, ['time.logged'])
    await sb.control.logTimeEntry(org.organizationId, { projectId: org.projectId, userId: org.userId, workDate: '2025-01-01', minutes: 5 })
    expect((await call(sb, 'POST', '/_sandbox/deliveries/settle')).status).toBe(204)
    const res = await call(sb, 'GET', `/_sandbox/deliveries?organizationId=${org.organizationId}`)
    expect(res.body.data).toHaveLength(1)
    expect(res.body.data[0]).toMatchObject({ status: 'delivered', eventName: 'time.logged', payload: { organizationId: org.organizationId } })
    expect(JSON.stringify(res.body)).not.toMatch(/whsec_/)
  })
})
