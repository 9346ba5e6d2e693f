import { createAlignConnection, createTenantWithCompany, useTestDatabase } from '@illumera/test-harness'
import { describe, expect, it } from 'vitest'
import { decryptConnectionSecret, encryptConnectionSecret, rotateConnectionSecrets, SecretBox } from '../src/index.js'

const oldKey = 'a'.repeat(64)
const newKey = 'b'.repeat(64)

describe('rotateConnectionSecrets', () => {
  const t = useTestDatabase()

  async function seed(box: SecretBox, count: number) {
    const { tenant, company } = await createTenantWithCompany(t.db)
    const ids: string[] = []
    for (let i = 0; i < count; i++) {
      const id = crypto.randomUUID()
      await createAlignConnection(t.db, { tenantId: tenant.id, companyId: company.id }, {
        id,
        status: 'disconnected',
        encrypted_api_key: encryptConnectionSecret(box, id, 'encrypted_api_key', `key-${i}`),
        webhook_secret: i % 2 ? null : encryptConnectionSecret(box, id, 'webhook_secret', `whsec-${i}`),
      })
      ids.push(id)
    }
    return ids
  }

  async function readAll(box: SecretBox) {
    const rows = await t.db.selectFrom('align_connections').selectAll().orderBy('id').execute()
    return rows.map((r) => ({
      id: r.id,
      apiKey: decryptConnectionSecret(box, r.id, 'encrypted_api_key', r.encrypted_api_key),
      secret: r.webhook_secret && decryptConnectionSecret(box, r.id, 'webhook_secret', r.webhook_secret),
    }))
  }

  it('moves every secret to the new key in batches, reads working before, during and after', async () => {
    await t.db.deleteFrom('align_connections').execute()
    await seed(new SecretBox(oldKey), 7)
    const ring = new SecretBox(newKey, [oldKey])
    const expected = await readAll(new SecretBox(oldKey))
    expect(await readAll(ring)).toEqual(expected) // before

    // Interrupted after two batches of two rows.
    const partial = await rotateConnectionSecrets(t.db, ring, { batchSize: 2, maxBatches: 2 })
    const firstFour = expected.slice(0, 4)
    expect(partial.rows).toBe(4)
    expect(partial.rotated).toBe(4 + firstFour.filter((r) => r.secret !== null).length)
    expect(await readAll(ring)).toEqual(expected) // during: mixed keys still read

    // Re-run finishes and touches nothing twice.
    const rest = await rotateConnectionSecrets(t.db, ring, { batchSize: 2 })
    const total = 7 + expected.filter((r) => r.secret !== null).length
    expect(rest).toMatchObject({ rows: 7, rotated: total - partial.rotated, current: partial.rotated, failed: 0 })
    expect(await readAll(new SecretBox(newKey))).toEqual(expected) // after: the old key is no longer needed
    const again = await rotateConnectionSecrets(t.db, ring)
    expect(again).toMatchObject({ rotated: 0, current: total, failed: 0 })
  })

  it('reports an undecryptable value by row without stopping or printing it', async () => {
    await t.db.deleteFrom('align_connections').execute()
    const [id] = await seed(new SecretBox(oldKey), 2)
    await t.db.updateTable('align_connections').set({ encrypted_api_key: encryptConnectionSecret(new SecretBox('c'.repeat(64)), id!, 'encrypted_api_key', 'orphan-secret') }).where('id', '=', id!).execute()
    const report = await rotateConnectionSecrets(t.db, new SecretBox(newKey, [oldKey]))
    expect(report.failed).toBe(1)
    expect(report.rotated).toBe(2) // the broken row's webhook secret and the other row's key
    expect(report.errors[0]).toContain(`row ${id}`)
    expect(report.errors.join()).not.toContain('orphan-secret')
  })
})
