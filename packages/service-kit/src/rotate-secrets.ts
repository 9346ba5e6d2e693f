// Re-encrypts every encrypted align_connections column with the current key, in batches. Each batch is
// its own transaction and each update is guarded by the old ciphertext, so the command can be
// interrupted and re-run at any point, and a concurrent write (a key rotation through the API) wins.
import type { Database } from '@illumera/db-schema'
import type { Kysely } from 'kysely'
import { decryptConnectionSecret, ENCRYPTED_CONNECTION_COLUMNS, encryptConnectionSecret } from './align-connection-secrets.js'
import type { SecretBox } from './secrets.js'

export interface RotationReport {
  /** Rows read. */
  rows: number
  /** Ciphertexts re-encrypted with the current key. */
  rotated: number
  /** Ciphertexts already on the current key. */
  current: number
  /** Ciphertexts that could not be decrypted (named in `errors`, never their values). */
  failed: number
  errors: string[]
}

export interface RotateOptions {
  batchSize?: number
  /** Stop after this many batches (tests use it to interrupt a rotation half-way). */
  maxBatches?: number
  onBatch?: (report: RotationReport) => void
}

export async function rotateConnectionSecrets(db: Kysely<Database>, box: SecretBox, options: RotateOptions = {}): Promise<RotationReport> {
  const batchSize = options.batchSize ?? 100
  const report: RotationReport = { rows: 0, rotated: 0, current: 0, failed: 0, errors: [] }
  let after = ''
  for (let batch = 0; options.maxBatches === undefined || batch < options.maxBatches; batch++) {
    const rows = await db
      .selectFrom('align_connections')
      .select(['id', ...ENCRYPTED_CONNECTION_COLUMNS])
      .where('id', '>', after)
      .orderBy('id')
      .limit(batchSize)
      .execute()
    if (rows.length === 0) break
    await db.transaction().execute(async (trx) => {
      for (const row of rows) {
        report.rows++
        for (const column of ENCRYPTED_CONNECTION_COLUMNS) {
          const ciphertext = row[column]
          if (ciphertext === null) continue
          if (!box.needsRotation(ciphertext)) {
            report.current++
            continue
          }
          try {
            const plaintext = decryptConnectionSecret(box, row.id, column, ciphertext)
            const rotated = encryptConnectionSecret(box, row.id, column, plaintext)
            const result = await trx.updateTable('align_connections').set({ [column]: rotated })
              .where('id', '=', row.id).where(column, '=', ciphertext).executeTakeFirst()
            if (result.numUpdatedRows > 0n) report.rotated++
            else report.current++ // rewritten concurrently, with the current key
          } catch (err) {
            report.failed++
            report.errors.push(err instanceof Error ? err.message : String(err))
          }
        }
      }
    })
    after = rows[rows.length - 1]!.id
    options.onBatch?.(report)
  }
  return report
}
