// integrationLinks() walks every page: 250 links, with page sizes 100 and 10.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeAlignPools, type AlignIntegrationLink } from '../src/index.js'
import { localId, newOrgGateway, startSandbox, type Sandbox, type TestGateway } from './helpers/sandbox.js'

const LINKS = 250
let sb: Sandbox
let t: TestGateway
const externalIds: string[] = []

beforeAll(async () => {
  sb = await startSandbox({ rateLimitPerMinute: null })
  t = await newOrgGateway(sb)
  // 250 users with an externalRef each, in five bulk invites of 50.
  for (let batch = 0; batch < LINKS / 50; batch++) {
    const invites = Array.from({ length: 50 }, () => {
      const id = localId('user')
      externalIds.push(id)
      return { email: `${id}@example.com`, name: id, role: 'developer', externalRef: { externalType: 'user' as const, externalId: id } }
    })
    const result = await t.gateway.bulkInviteUsers({ invites, sendInvite: false }, { idempotencyKey: `batch-${batch}-${externalIds[0]}` })
    expect(result.successCount).toBe(50)
  }
})

afterAll(async () => {
  await sb?.close()
  await closeAlignPools()
})

async function collect(iterable: AsyncIterable<AlignIntegrationLink>): Promise<AlignIntegrationLink[]> {
  const out: AlignIntegrationLink[] = []
  for await (const link of iterable) out.push(link)
  return out
}

describe('integration links across many pages', () => {
  it('listIntegrationLinks serves pages of the requested size and the total', async () => {
    const third = await t.gateway.listIntegrationLinks({ page: 3, pageSize: 100 })
    expect(third.total).toBe(LINKS)
    expect(third.data).toHaveLength(50)
    const beyond = await t.gateway.listIntegrationLinks({ page: 4, pageSize: 100 })
    expect(beyond.data).toHaveLength(0)
  })

  it.each([100, 10, 7])('integrationLinks yields every link once with pageSize %i, asking only for the pages needed', async (pageSize) => {
    const before = t.attempts.length
    const links = await collect(t.gateway.integrationLinks({ pageSize }))
    expect(links).toHaveLength(LINKS)
    expect(new Set(links.map((l) => l.id)).size).toBe(LINKS)
    expect(new Set(links.map((l) => l.externalId))).toEqual(new Set(externalIds))
    const requests = t.attempts.slice(before)
    // Stops on the page that completes `total` (or comes back short): no trailing empty page.
    expect(requests).toHaveLength(Math.ceil(LINKS / pageSize))
    expect(requests.every((r) => r.path === '/integration-links' && r.status === 200)).toBe(true)
  })

  it('stopping early asks for no further page', async () => {
    const before = t.attempts.length
    let seen = 0
    for await (const _ of t.gateway.integrationLinks({ pageSize: 10 })) {
      if (++seen === 15) break
    }
    expect(t.attempts.length - before).toBe(2)
  })

  it('filters by externalType and externalId', async () => {
    const target = externalIds[137]!
    const filtered = await t.gateway.listIntegrationLinks({ externalType: 'user', externalId: target })
    expect(filtered.total).toBe(1)
    expect(filtered.data[0]).toMatchObject({ externalId: target })
    const link = await t.gateway.findIntegrationLink({ externalType: 'user', externalId: target })
    expect(link?.externalId).toBe(target)
    const wrongType = await t.gateway.listIntegrationLinks({ externalType: 'project', externalId: target })
    expect(wrongType.total).toBe(0)
  })

  it('refuses page sizes Align does not serve before sending', async () => {
    const before = t.attempts.length
    await expect(t.gateway.listIntegrationLinks({ pageSize: 101 })).rejects.toThrow(RangeError)
    await expect(t.gateway.listIntegrationLinks({ page: 0 })).rejects.toThrow(RangeError)
    expect(() => t.gateway.integrationLinks({ pageSize: 0 })).not.toThrow() // generators start lazily
    await expect(collect(t.gateway.integrationLinks({ pageSize: 0 }))).rejects.toThrow(RangeError)
    expect(t.attempts.length).toBe(before)
  })
})
