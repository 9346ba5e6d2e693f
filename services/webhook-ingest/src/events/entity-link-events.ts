// project_member.added / updated and wiki_page.created confirm that an entity we pushed exists in
// Align: the externalRef it carries names our entity, and the link is written (or corrected) here.
import type { Database, ExternalType } from '@illumera/db-schema'
import type { Transaction } from 'kysely'
import { applied, type EventData, type EventResult, externalRefOf, isIllumeraRef, noted, skipped, stringField } from './event-result.js'
import { engagementExists, findLinkByAlignEntity, projectExists, type Scope, upsertEntityLink } from './events.queries.js'

async function linkFromExternalRef(
  trx: Transaction<Database>,
  scope: Scope,
  data: EventData,
  externalType: ExternalType,
  alignEntityId: string,
  exists: (id: string) => Promise<boolean>,
): Promise<EventResult> {
  const ref = externalRefOf(data)
  if (!isIllumeraRef(ref, externalType)) return skipped(`no Illumera ${externalType} externalRef (made in Align)`)
  if (!(await exists(ref.externalId))) return noted(`externalRef names ${externalType} ${ref.externalId}, which this company does not have`)
  const current = await findLinkByAlignEntity(trx, scope, externalType, alignEntityId)
  if (current && (current.external_type !== externalType || current.external_id !== ref.externalId)) {
    return noted(`Align ${externalType} ${alignEntityId} is already linked to ${current.external_type} ${current.external_id}, not ${ref.externalId}`)
  }
  if (current) return skipped(`${externalType} ${ref.externalId} is already linked`)
  await upsertEntityLink(trx, scope, { externalType, externalId: ref.externalId, alignEntityType: externalType, alignEntityId })
  return applied()
}

/** The member's Align id is "<alignProjectId>:<alignUserId>" (a person may be a member of many projects). */
export async function handleProjectMemberEvent(trx: Transaction<Database>, scope: Scope, data: EventData): Promise<EventResult> {
  const projectId = stringField(data, 'projectId')
  const userId = stringField(data, 'userId')
  if (!projectId || !userId) return noted('project member event without data.projectId and data.userId')
  return linkFromExternalRef(trx, scope, data, 'project_member', `${projectId}:${userId}`, (id) => engagementExists(trx, scope, id))
}

export async function handleWikiPageCreated(trx: Transaction<Database>, scope: Scope, data: EventData): Promise<EventResult> {
  const id = stringField(data, 'id')
  if (!id) return noted('wiki_page.created without data.id')
  return linkFromExternalRef(trx, scope, data, 'wiki_page', id, (projectId) => projectExists(trx, scope, projectId))
}

