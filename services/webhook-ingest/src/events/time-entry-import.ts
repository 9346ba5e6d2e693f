// time.logged: an entry made in Align becomes an Illumera time entry (source 'align').
//
// DESIGN: beyond the reference (which ignores time.logged), as Align's add-on page promises two-way
// sync. An echo of our own entry (externalRef provider 'illumera') is a no-op, and an imported entry
// gets no outbox row, so nothing loops. The link written here makes later status events apply and a
// retried delivery import nothing twice. With the connection's sync direction illumera_to_align (inbound off)
// nothing is imported: handle-align-event.ts records the delivery with a note instead of calling this.
import type { Database, TimeEntryStatus } from '@illumera/db-schema'
import type { Transaction } from 'kysely'
import { applied, type EventData, type EventResult, externalRefOf, noted, skipped, stringField } from './event-result.js'
import {
  findAcceptedEngagement, findLinkByAlignEntity, findLinkedExternalId, findPersonIdByUserId, insertEntityLink, insertImportedTimeEntry, type Scope,
} from './events.queries.js'

const IMPORTABLE_STATUSES: readonly TimeEntryStatus[] = ['draft', 'submitted', 'approved', 'rejected', 'locked', 'invoiced']
const WORK_DATE = /^\d{4}-\d{2}-\d{2}$/

export async function importAlignTimeEntry(trx: Transaction<Database>, scope: Scope, data: EventData): Promise<EventResult> {
  const ref = externalRefOf(data)
  if (ref?.provider === 'illumera') return skipped('echo of an Illumera time entry')

  const alignId = stringField(data, 'id')
  if (!alignId) return noted('cannot import an Align time entry: data.id is missing')
  const existing = await findLinkByAlignEntity(trx, scope, 'time_entry', alignId)
  if (existing) return skipped(`Align time entry ${alignId} is already linked to ${existing.external_type} ${existing.external_id}`)

  const alignUserId = stringField(data, 'userId')
  const alignProjectId = stringField(data, 'projectId')
  const workDate = stringField(data, 'workDate')
  const minutes = data.minutes
  if (!alignUserId || !alignProjectId) return noted(`cannot import Align time entry ${alignId}: userId or projectId is missing`)
  if (!workDate || !WORK_DATE.test(workDate)) return noted(`cannot import Align time entry ${alignId}: workDate is not YYYY-MM-DD`)
  if (typeof minutes !== 'number' || !Number.isInteger(minutes) || minutes < 1 || minutes > 1440) {
    return noted(`cannot import Align time entry ${alignId}: minutes must be a whole number from 1 to 1440`)
  }

  const userId = await findLinkedExternalId(trx, scope, 'user', 'user', alignUserId)
  if (!userId) return noted(`cannot import Align time entry ${alignId}: Align user ${alignUserId} is not linked to an Illumera user`)
  const personId = await findPersonIdByUserId(trx, scope, userId)
  if (!personId) return noted(`cannot import Align time entry ${alignId}: Illumera user ${userId} has no person profile`)
  const projectId = await findLinkedExternalId(trx, scope, 'project', 'project', alignProjectId)
  if (!projectId) return noted(`cannot import Align time entry ${alignId}: Align project ${alignProjectId} is not linked to an Illumera project`)
  const engagement = await findAcceptedEngagement(trx, scope, projectId, personId)
  if (!engagement) return noted(`cannot import Align time entry ${alignId}: person ${personId} has no accepted engagement on project ${projectId}`)

  const rawStatus = stringField(data, 'status') as TimeEntryStatus | undefined
  const status = rawStatus && IMPORTABLE_STATUSES.includes(rawStatus) ? rawStatus : 'draft'
  const description = typeof data.description === 'string' ? data.description : null
  const id = await insertImportedTimeEntry(trx, scope, {
    engagementId: engagement.id,
    projectId,
    personId,
    workDate,
    minutes,
    notes: description,
    status,
    rejectionReason: status === 'rejected' ? (stringField(data, 'rejectionReason') ?? null) : null,
  })
  await insertEntityLink(trx, scope, { externalType: 'time_entry', externalId: id, alignEntityType: 'time_entry', alignEntityId: alignId })
  return applied()
}
