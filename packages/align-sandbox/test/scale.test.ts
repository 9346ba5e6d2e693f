// 100k time entries and 10k integration links: summaries read one project's index, and link
// pages are slices of an array kept in creation order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AlignSandbox } from '../src/index.js'
import { call, seedOrg, startSandbox } from './helpers/http.js'

let sb: AlignSandbox
let big: Awaited<ReturnType<typeof seedOrg>>
let small: Awaited<ReturnType<typeof seedOrg>>
const ENTRIES = 100_000
const LINKS = 10_000

beforeAll(async () => {
  sb = await startSandbox({ rateLimitPerMinute: null })
  big = await seedOrg(sb, 'big')
  small = await seedOrg(sb, 'small')
  for (let i = 0; i < ENTRIES; i++) {
    await sb.control.logTimeEntry(big.organizationId, { projectId: big.projectId, userId: big.userId, workDate: '2025-01-15', minutes: (i % 60) + 1 })
  }
  for (let batch = 0; batch < LINKS / 50; batch++) {
    const invites = Array.from({ length: 50 }, (_, i) => {
      const n = batch * 50 + i
      return { email: `u${n}@example.com`, name: `U${n}`, role: 'developer', externalRef: { provider: 'illumera', externalType: 'user', externalId: `user-${n}` } }
    })
    const res = await call(sb, 'POST', '/users/bulk-invite', { key: big.apiKey, body: { invites } })
    expect(res.body.successCount).toBe(50)
  }
}, 60_000)
afterAll(() => sb.close())

describe('at scale', () => {
  it('summarizes 100k entries of one project exactly', async () => {
    const expectedMinutes = Array.from({ length: ENTRIES }, (_, i) => (i % 60) + 1).reduce((a, b) => a + b, 0)
    const summary = await call(sb, 'GET', `/projects/${big.projectId}/time-summary`, { key: big.apiKey })
    expect(summary.body).toMatchObject({ totalMinutes: expectedMinutes, billableMinutes: expectedMinutes, byStatus: { draft: expectedMinutes } })
    await sb.control.setMemberRate(big.projectId, big.userId, 6_000)
    const cost = await call(sb, 'GET', `/projects/${big.projectId}/cost-summary`, { key: big.apiKey })
    expect(cost.body.actualCost).toBe(`${expectedMinutes}.00`) // 6000 cents/h = 1 dollar per minute
    // Another organization's small project is not affected by the big one.
    expect((await call(sb, 'GET', `/projects/${small.projectId}/time-summary`, { key: small.apiKey })).body.totalMinutes).toBe(0)
  })

  it('pages through 10k+ integration links, every link once, in creation order', async () => {
    const first = await call(sb, 'GET', '/integration-links?page=1&pageSize=100', { key: big.apiKey })
    const total = first.body.total
    expect(total).toBe(LINKS + 3) // + the seeded project, user and member
    const seen = new Set<string>()
    for (let page = 1; page <= Math.ceil(total / 100); page++) {
      const res = await call(sb, 'GET', `/integration-links?page=${page}&pageSize=100`, { key: big.apiKey })
      for (const link of res.body.data) seen.add(link.id)
    }
    expect(seen.size).toBe(total)
    const last = await call(sb, 'GET', `/integration-links?page=${Math.ceil(total / 100)}&pageSize=100`, { key: big.apiKey })
    expect(last.body.data.at(-1).externalId).toBe(`user-${LINKS - 1}`)
    const one = await call(sb, 'GET', '/integration-links?externalType=user&externalId=user-4242', { key: big.apiKey })
    expect(one.body).toMatchObject({ total: 1, data: [{ externalId: 'user-4242', entityType: 'user' }] })
  })
})
