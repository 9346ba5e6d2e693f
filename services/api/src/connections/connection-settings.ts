// A connection's sync settings: direction and field mappings (rules in @illumera/db-schema connection-settings).
// A change is validated whole before anything is written, then the connection row and one audit row
// (who, which settings from → to, when) are written in one transaction; a change that changes nothing
// writes nothing.
import {
  type AlignConnection, AlignRoleSchema, ALIGN_ASSIGNABLE_ROLES, BILLABLE_MODES, BillableModeSchema, type Database, DESCRIPTION_TEMPLATE_FIELDS,
  DescriptionTemplateSchema, effectiveFieldMappings, type FieldMappings, FieldMappingsSchema, parseDescriptionTemplate, type SettingChange,
  SYNC_DIRECTIONS, type SyncDirection, SyncDirectionSchema, WikiPageTitleSchema,
} from '@illumera/db-schema'
import { badRequest, notFound } from '@illumera/service-kit'
import { type Static, Type } from '@sinclair/typebox'
import type { Kysely } from 'kysely'
import { Timestamp } from '../http/schemas.js'
import type { CompanyScope } from '../projects/projects.queries.js'
import { findLiveConnection, insertSettingsChange, lockConnection, updateConnection } from './connections.queries.js'

export const FieldMappingsPatch = Type.Object({
  roles: Type.Optional(Type.Object({
    talent: Type.Optional(AlignRoleSchema),
    hiring_manager: Type.Optional(AlignRoleSchema),
  }, { additionalProperties: false, minProperties: 1, description: 'Illumera role → Align role' })),
  timeEntryDescription: Type.Optional(Type.String({
    ...DescriptionTemplateSchema, description: `template of the Align time entry description; placeholders: ${DESCRIPTION_TEMPLATE_FIELDS.map((f) => `{{${f}}}`).join(' ')}`,
  })),
  billable: Type.Optional(BillableModeSchema),
  wikiPageTitle: Type.Optional(WikiPageTitleSchema),
}, { additionalProperties: false, minProperties: 1 })

export const SettingsPatch = Type.Object({
  syncDirection: Type.Optional(SyncDirectionSchema),
  fieldMappings: Type.Optional(FieldMappingsPatch),
}, { additionalProperties: false, minProperties: 1 })
export type SettingsPatch = Static<typeof SettingsPatch>

export const SettingsView = Type.Object({
  connectionId: Type.String(),
  syncDirection: SyncDirectionSchema,
  fieldMappings: FieldMappingsSchema,
  /** When the settings last changed; null: still the defaults of the connection's creation. */
  settingsUpdatedAt: Type.Union([Timestamp, Type.Null()]),
  /** The values each setting accepts. */
  options: Type.Object({
    syncDirections: Type.Array(Type.String()), alignRoles: Type.Array(Type.String()), billable: Type.Array(Type.String()),
    descriptionPlaceholders: Type.Array(Type.String()),
  }),
})

export const SettingsChangeView = Type.Object({
  id: Type.String(),
  actorUserId: Type.String(),
  /** Keyed by setting path (syncDirection, fieldMappings.roles.talent, …). */
  changes: Type.Record(Type.String(), Type.Object({ from: Type.Unknown(), to: Type.Unknown() })),
  changedAt: Timestamp,
})

export interface SyncSettings {
  syncDirection: SyncDirection
  fieldMappings: FieldMappings
}

export function settingsOf(row: AlignConnection): SyncSettings {
  return { syncDirection: row.sync_direction, fieldMappings: effectiveFieldMappings(row.field_mappings) }
}

export function toSettingsView(row: AlignConnection): Static<typeof SettingsView> {
  return {
    connectionId: row.id, ...settingsOf(row), settingsUpdatedAt: row.settings_updated_at?.toISOString() ?? null,
    options: {
      syncDirections: [...SYNC_DIRECTIONS], alignRoles: [...ALIGN_ASSIGNABLE_ROLES], billable: [...BILLABLE_MODES],
      descriptionPlaceholders: DESCRIPTION_TEMPLATE_FIELDS.map((f) => `{{${f}}}`),
    },
  }
}

/** What the schema cannot say: a description template may use only the whitelisted placeholders. */
export function checkSettingsPatch(patch: SettingsPatch, at = 'body'): void {
  const template = patch.fieldMappings?.timeEntryDescription
  if (template === undefined) return
  const parsed = parseDescriptionTemplate(template)
  if ('error' in parsed) throw badRequest(`${at}/fieldMappings/timeEntryDescription ${parsed.error}`, 'validation_error')
}

export function applySettingsPatch(current: SyncSettings, patch: SettingsPatch): SyncSettings {
  const m = patch.fieldMappings ?? {}
  return {
    syncDirection: patch.syncDirection ?? current.syncDirection,
    fieldMappings: {
      roles: { ...current.fieldMappings.roles, ...m.roles },
      timeEntryDescription: m.timeEntryDescription ?? current.fieldMappings.timeEntryDescription,
      billable: m.billable ?? current.fieldMappings.billable,
      wikiPageTitle: m.wikiPageTitle ?? current.fieldMappings.wikiPageTitle,
    },
  }
}

/** Every leaf setting whose value differs, keyed by its path. */
export function diffSettings(before: SyncSettings, after: SyncSettings): Record<string, SettingChange> {
  const changes: Record<string, SettingChange> = {}
  const walk = (path: string, a: unknown, b: unknown) => {
    if (a && b && typeof a === 'object' && typeof b === 'object') {
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) walk(`${path}.${key}`, (a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])
    } else if (a !== b) changes[path.slice(1)] = { from: a, to: b }
  }
  walk('', before, after)
  return changes
}

/** Writes new settings (when they differ) and the audit row, on a row the caller holds locked. */
export async function writeSyncSettings(
  trx: Kysely<Database>, row: AlignConnection, next: SyncSettings, actorUserId: string, now: Date,
): Promise<{ connection: AlignConnection; changes: Record<string, SettingChange> }> {
  const changes = diffSettings(settingsOf(row), next)
  if (Object.keys(changes).length === 0) return { connection: row, changes }
  const connection = await updateConnection(trx, row.id, {
    sync_direction: next.syncDirection, field_mappings: JSON.stringify(next.fieldMappings), settings_updated_at: now,
  })
  await insertSettingsChange(trx, {
    connection_id: row.id, tenant_id: row.tenant_id, company_id: row.company_id, actor_user_id: actorUserId, changes: JSON.stringify(changes),
  })
  return { connection, changes }
}

/** PATCH /settings: validates, then applies the change to the company's live connection. */
export async function updateSyncSettings(
  db: Kysely<Database>, scope: CompanyScope, actorUserId: string, patch: SettingsPatch, now: Date,
): Promise<{ connection: AlignConnection; changes: Record<string, SettingChange> }> {
  checkSettingsPatch(patch)
  return db.transaction().execute(async (trx) => {
    const live = await findLiveConnection(trx, scope)
    const row = live && await lockConnection(trx, live.id)
    if (!row || row.status === 'disconnected') throw notFound('Align connection of company', scope.companyId)
    return writeSyncSettings(trx, row, applySettingsPatch(settingsOf(row), patch), actorUserId, now)
  })
}

export function toSettingsChangeView(row: { id: string; actor_user_id: string; changes: Record<string, SettingChange>; changed_at: Date }) {
  return { id: row.id, actorUserId: row.actor_user_id, changes: row.changes, changedAt: row.changed_at.toISOString() }
}
