// isStatementRefused on PostgreSQL's real answers: what the time-entry batcher may re-run input by input
// (nothing of the statement stayed) and what it must not (the outcome is unknown).
import pg from 'pg'
import { useTestDatabase } from '@illumera/test-harness'
import { describe, expect, it } from 'vitest'
import { isStatementRefused } from '../src/http/pg-errors.js'

const t = useTestDatabase()

/** The error PostgreSQL (or the socket) gives for `text` on a connection of its own. */
async function errorOf(text: string, url = t.url): Promise<unknown> {
  const client = new pg.Client({ connectionString: url })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.query(text)
  } catch (err) {
    return err
  } finally {
    await client.end().catch(() => {})
  }
  throw new Error(`${text} did not fail`)
}

describe('isStatementRefused', () => {
  it('is true for a statement PostgreSQL refused and rolled back: a raised exception, a constraint', async () => {
    expect(isStatementRefused(await errorOf(`do $$ begin raise exception 'no'; end $$`))).toBe(true)
    expect(isStatementRefused(await errorOf(`select 1 / 0`))).toBe(true)
    expect(isStatementRefused(await errorOf(`insert into tenants (id, name) values ('t-dup', 'a'), ('t-dup', 'b')`))).toBe(true)
  })

  it('is false when the outcome is unknown: the session ended, or the answer never came', async () => {
    const terminated = await errorOf('select pg_terminate_backend(pg_backend_pid())')
    expect(terminated).toMatchObject({ code: '57P01' })
    expect(isStatementRefused(terminated)).toBe(false)
    const unreachable = new URL(t.url)
    unreachable.port = '1'
    const refused = await errorOf('select 1', unreachable.toString())
    expect(refused).toMatchObject({ code: 'ECONNREFUSED' })
    expect(isStatementRefused(refused)).toBe(false)
  })

  it('goes by the SQLSTATE, not the severity text (localized by the server)', () => {
    expect(isStatementRefused({ severity: 'FEHLER', code: '23505' })).toBe(true)
    expect(isStatementRefused({ severity: 'FATAL', code: '23505' })).toBe(false)
    expect(isStatementRefused({ severity: 'ERREUR', code: '08006' })).toBe(false)
    expect(isStatementRefused({ severity: 'ERROR', code: 'XX000' })).toBe(false)
    expect(isStatementRefused({ code: 'EPIPE' })).toBe(false)
    expect(isStatementRefused(new Error('timeout'))).toBe(false)
    expect(isStatementRefused(null)).toBe(false)
  })
})
