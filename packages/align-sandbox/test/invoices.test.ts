// Invoices made in Align's UI: the control API invoices a project's locked entries and marks the
// invoice paid, emitting time.invoiced, invoice.finalized and invoice.paid.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AlignSandbox } from '../src/index.js'
import { call, entryBody, seedOrg, startReceiver, startSandbox } from './helpers/http.js'

let sb: AlignSandbox
let receiver: Awaited<ReturnType<typeof startReceiver>>

beforeAll(async () => {
  sb = await startSandbox({ rateLimitPerMinute: null })
  receiver = await startReceiver()
})
afterAll(async () => {
  await sb.close()
  await receiver.close()
})

describe('invoices', () => {
  it('invoice the locked entries, then get paid, with their webhooks', async () => {
    const { organizationId, apiKey, projectId, userId } = await seedOrg(sb, 'inv')
    await call(sb, 'POST', '/webhooks', { key: apiKey, body: { destinationUrl: receiver.url, eventNames: ['time.invoiced', 'invoice.finalized', 'invoice.paid'] } })
    await sb.control.setMemberRate(projectId, userId, 12_000)
    const ids: string[] = []
    for (const minutes of [90, 45]) {
      const entry = (await call(sb, 'POST', `/projects/${projectId}/time-entries`, { key: apiKey, body: entryBody(userId, minutes) })).body
      await call(sb, 'POST', `/time-entries/${entry.id}/submit`, { key: apiKey })
      await sb.control.approve(entry.id)
      await sb.control.lock(entry.id)
      ids.push(entry.id)
    }
    const draft = (await call(sb, 'POST', `/projects/${projectId}/time-entries`, { key: apiKey, body: entryBody(userId, 30) })).body

    const created = await call(sb, 'POST', `/_sandbox/projects/${projectId}/invoices`)
    expect(created.status).toBe(201)
    // 135 minutes at $120/h = $270.00
    expect(created.body).toMatchObject({ projectId, organizationId, status: 'finalized', amount: '270.00', totalMinutes: 135, paidAt: null })
    expect(created.body.timeEntryIds.sort()).toEqual([...ids].sort())
    const state = await sb.control.state(organizationId)
    expect(state.timeEntries.filter((e) => e.status === 'invoiced').map((e) => e.id).sort()).toEqual([...ids].sort())
    expect(state.timeEntries.find((e) => e.id === draft.id)?.status).toBe('draft')
    expect(state.invoices).toHaveLength(1)

    // Nothing left to invoice.
    const again = await call(sb, 'POST', `/_sandbox/projects/${projectId}/invoices`)
    expect(again.status).toBe(409)
    expect(again.body.error.code).toBe('invalid_state')
    expect((await call(sb, 'POST', '/_sandbox/projects/nope/invoices')).status).toBe(404)

    const paid = await call(sb, 'POST', `/_sandbox/invoices/${created.body.id}/pay`)
    expect(paid.body).toMatchObject({ status: 'paid' })
    expect(paid.body.paidAt).not.toBeNull()
    expect((await call(sb, 'POST', `/_sandbox/invoices/${created.body.id}/pay`)).status).toBe(409)
    expect((await call(sb, 'POST', '/_sandbox/invoices/nope/pay')).status).toBe(404)

    await sb.control.settled()
    expect(receiver.received.map((h) => h.event)).toEqual(['time.invoiced', 'time.invoiced', 'invoice.finalized', 'invoice.paid'])
    const finalized = receiver.received.find((h) => h.event === 'invoice.finalized')!
    expect(finalized.body).toMatchObject({ organizationId, data: { id: created.body.id, amount: '270.00' } })
  })
})
