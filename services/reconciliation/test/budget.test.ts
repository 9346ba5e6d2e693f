// The job's side of the shared budget (createSharedBudget) against a real Postgres: its concurrent callers
// each reserve their own moment and wait for it once, instead of all waking at the same moment and all but
// one being denied again (a herd of extra budget statements for every paced grant).
import { randomUUID } from 'node:crypto'
import { defaultBurst, paceIntervalMs } from '@illumera/align-rate-budget'
import { createTenantWithCompany, useTestDatabase } from '@illumera/test-harness'
import { describe, expect, it } from 'vitest'
import { createSharedBudget } from '../src/budget.js'
import { type Clock, systemClock } from '../src/clock.js'

const t = useTestDatabase()

describe('createSharedBudget', () => {
  it('paces concurrent callers with one wait each, every call no earlier than its grant', async () => {
    const { tenant, company } = await createTenantWithCompany(t.db)
    const connectionId = randomUUID()
    await t.db.insertInto('align_connections').values({
      id: connectionId, tenant_id: tenant.id, company_id: company.id, encrypted_api_key: 'x', key_last_four: 'abcd', align_org_id: `org-${connectionId}`, align_key_scope: 'organization',
    }).execute()
    let sleeps = 0
    const clock: Clock = { now: systemClock.now, sleep: (ms) => { sleeps++; return systemClock.sleep(ms) } }
    const budget = createSharedBudget(t.db, clock, { limitPerMinute: 600 })
    const burst = defaultBurst(600)
    const callers = 4
    const paced = 12 + ((callers - ((burst + 12) % callers)) % callers) // burst + paced: a multiple of the callers
    const perCaller = (burst + paced) / callers
    expect(Number.isInteger(perCaller)).toBe(true)
    const returnedAt: number[] = []
    await Promise.all(Array.from({ length: callers }, async () => {
      for (let i = 0; i < perCaller; i++) {
        await budget.take(connectionId)
        returnedAt.push(Date.now())
      }
    }))
    const row = await t.db.selectFrom('align_rate_budgets').select('grants').where('connection_id', '=', connectionId).executeTakeFirstOrThrow()
    const grants = row.grants.map(Number).sort((a, b) => a - b)
    expect(grants).toHaveLength(burst + paced)
    // The burst at once, then the paced grants one interval apart: each of those was waited for, once.
    expect(sleeps).toBeLessThanOrEqual(paced + callers)
    for (let i = burst + 1; i < grants.length; i++) expect(grants[i]! - grants[i - 1]!).toBeGreaterThanOrEqual(Math.floor(paceIntervalMs({ limitPerMinute: 600 })))
    returnedAt.sort((a, b) => a - b)
    returnedAt.forEach((at, i) => expect(at).toBeGreaterThanOrEqual(grants[i]!))
  })
})
