// The link loader: concurrent lookups of several tenants go out as one statement, and each caller gets
// exactly its own tenant's links (by external id, and a project membership by its two sides), nothing of another tenant's.
import { createTenantWithCompany, useTestDatabase } from '@illumera/test-harness'
import type { KyselyPlugin } from 'kysely'
import { describe, expect, it } from 'vitest'
import { createLinkLoader, membershipLink } from '../src/outbox/link-loader.js'

const t = useTestDatabase()

/** Counts the statements sent through the db (a plugin sees every query; the database stays real). */
function countingDb() {
  const counter = { statements: 0 }
  const plugin: KyselyPlugin = {
    transformQuery(args) { counter.statements++; return args.node },
    async transformResult(args) { return args.result },
  }
  return { db: t.db.withPlugin(plugin), counter }
}

async function tenantWithLinks(suffix: string) {
  const { tenant, company } = await createTenantWithCompany(t.db)
  const base = { tenant_id: tenant.id, company_id: company.id, provider: 'illumera' }
  await t.db.insertInto('align_entity_links').values([
    { ...base, external_type: 'project', external_id: `p-${suffix}`, align_entity_type: 'project', align_entity_id: `ap-${suffix}` },
    { ...base, external_type: 'user', external_id: 'same-local-id', align_entity_type: 'user', align_entity_id: `au-${suffix}` },
    { ...base, external_type: 'project_member', external_id: `e-${suffix}`, align_entity_type: 'project_member', align_entity_id: `ap-${suffix}:au-${suffix}` },
  ]).execute()
  return tenant.id
}

describe('link loader', () => {
  it('batches the lookups of one turn into one statement and hands each caller its own tenant\'s links', async () => {
    const a = await tenantWithLinks('a')
    const b = await tenantWithLinks('b')
    const { db, counter } = countingDb()
    const loader = createLinkLoader(db)
    const membershipOf = (projectId: string) => ({ projectId, userId: 'same-local-id' })
    const [la, lb, missing, ma, mbWrongTenant, mb] = await Promise.all([
      loader.links(a, [{ type: 'project', id: 'p-a' }, { type: 'user', id: 'same-local-id' }, { type: 'time_entry', id: 'none' }]),
      loader.links(b, [{ type: 'user', id: 'same-local-id' }, { type: 'project', id: 'p-a' }]),
      loader.links(a, [{ type: 'project', id: 'p-b' }]),
      loader.links(a, [{ type: 'time_entry', id: 'none' }], false, membershipOf('p-a')),
      loader.links(a, [], false, membershipOf('p-b')),
      loader.links(b, [], false, membershipOf('p-b')),
    ])
    expect(counter.statements).toBe(1)
    expect([...la.keys()].sort()).toEqual(['project:p-a', 'user:same-local-id'])
    expect(la.get('user:same-local-id')!.align_entity_id).toBe('au-a')
    expect([...lb.keys()]).toEqual(['user:same-local-id'])
    expect(lb.get('user:same-local-id')!.align_entity_id).toBe('au-b')
    expect(missing.size).toBe(0)
    // A membership comes with its two sides' links; membershipLink() picks it out by their Align ids.
    expect([...ma.keys()].sort()).toEqual(['project:p-a', 'project_member:e-a', 'user:same-local-id'])
    expect(membershipLink(ma, ma.get('project:p-a')!, ma.get('user:same-local-id')!)).toMatchObject({ external_type: 'project_member', external_id: 'e-a', align_entity_id: 'ap-a:au-a' })
    expect([...mbWrongTenant.keys()]).toEqual(['user:same-local-id']) // tenant a has no project p-b: no membership either
    expect([...mb.keys()].sort()).toEqual(['project:p-b', 'project_member:e-b', 'user:same-local-id'])
  })

  it('no membership link when both sides are linked but their membership is not (or is another pair\'s)', async () => {
    const { tenant, company } = await createTenantWithCompany(t.db)
    const base = { tenant_id: tenant.id, company_id: company.id, provider: 'illumera' }
    await t.db.insertInto('align_entity_links').values([
      { ...base, external_type: 'project', external_id: 'p-1', align_entity_type: 'project', align_entity_id: 'ap-1' },
      { ...base, external_type: 'project', external_id: 'p-2', align_entity_type: 'project', align_entity_id: 'ap-2' },
      { ...base, external_type: 'user', external_id: 'u-1', align_entity_type: 'user', align_entity_id: 'au-1' },
      { ...base, external_type: 'project_member', external_id: 'e-2', align_entity_type: 'project_member', align_entity_id: 'ap-2:au-1' },
    ]).execute()
    const loader = createLinkLoader(t.db)
    const [one, two] = await Promise.all([
      loader.links(tenant.id, [], false, { projectId: 'p-1', userId: 'u-1' }),
      loader.links(tenant.id, [], false, { projectId: 'p-2', userId: 'u-1' }),
    ])
    expect([...one.keys()].sort()).toEqual(['project:p-1', 'user:u-1'])
    expect(membershipLink(one, one.get('project:p-1')!, one.get('user:u-1')!)).toBeUndefined()
    expect(membershipLink(two, two.get('project:p-2')!, two.get('user:u-1')!)).toMatchObject({ external_id: 'e-2' })
  })

  it('an urgent lookup goes out at once, taking along what the turn queued so far', async () => {
    const a = await tenantWithLinks('u')
    const { db, counter } = countingDb()
    const loader = createLinkLoader(db)
    const queued = loader.links(a, [{ type: 'project', id: 'p-u' }])
    expect(counter.statements).toBe(0)
    const urgent = loader.links(a, [{ type: 'user', id: 'same-local-id' }], true)
    expect(counter.statements).toBe(1)
    const [links, user] = await Promise.all([queued, urgent])
    expect(links.get('project:p-u')!.align_entity_id).toBe('ap-u')
    expect(user.get('user:same-local-id')).toMatchObject({ align_entity_id: 'au-u' })
    expect(counter.statements).toBe(1)
  })

  it('a lookup asked for after a statement went out sees links written meanwhile', async () => {
    const a = await tenantWithLinks('c')
    const { db, counter } = countingDb()
    const loader = createLinkLoader(db)
    expect((await loader.links(a, [{ type: 'time_entry', id: 'te-c' }])).size).toBe(0)
    const { company_id } = await t.db.selectFrom('align_entity_links').select('company_id').where('tenant_id', '=', a).executeTakeFirstOrThrow()
    await t.db.insertInto('align_entity_links').values({
      tenant_id: a, company_id, provider: 'illumera', external_type: 'time_entry', external_id: 'te-c', align_entity_type: 'time_entry', align_entity_id: 'at-c',
    }).execute()
    expect((await loader.links(a, [{ type: 'time_entry', id: 'te-c' }])).get('time_entry:te-c')!.align_entity_id).toBe('at-c')
    expect(counter.statements).toBe(2)
  })

  it('a failed statement rejects every lookup of its batch, and the next batch works again', async () => {
    const a = await tenantWithLinks('d')
    let fail = true
    const plugin: KyselyPlugin = {
      transformQuery(args) {
        if (fail) { fail = false; throw new Error('database went away') }
        return args.node
      },
      async transformResult(args) { return args.result },
    }
    const loader = createLinkLoader(t.db.withPlugin(plugin))
    const results = await Promise.allSettled([loader.links(a, [{ type: 'project', id: 'p-d' }]), loader.links(a, [{ type: 'user', id: 'same-local-id' }])])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    expect((await loader.links(a, [{ type: 'project', id: 'p-d' }])).size).toBe(1)
  })
})
