import type { Insertable, Selectable, Updateable } from 'kysely'
import type { CreatedAt, GeneratedId, UpdatedAt } from './common.js'

/** Illumera entity types synced to Align (externalRef.externalType). */
export type ExternalType = 'project' | 'user' | 'project_member' | 'time_entry' | 'wiki_page'

/**
 * Maps an Illumera entity to its Align entity. Unique by (tenant_id, external_type, external_id) and by
 * (tenant_id, align_entity_type, align_entity_id). For project_member the Align id is "<alignProjectId>:<alignUserId>".
 */
export interface AlignEntityLinksTable {
  id: GeneratedId
  tenant_id: string
  company_id: string
  /** Always "illumera". */
  provider: string
  external_type: ExternalType
  external_id: string
  align_entity_type: string
  align_entity_id: string
  created_at: CreatedAt
  updated_at: UpdatedAt
}
export type AlignEntityLink = Selectable<AlignEntityLinksTable>
export type NewAlignEntityLink = Insertable<AlignEntityLinksTable>
export type AlignEntityLinkUpdate = Updateable<AlignEntityLinksTable>
