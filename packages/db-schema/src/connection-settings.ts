// Per-connection sync settings (align_connections.sync_direction and .field_mappings), as Align's add-on page
// promises: the direction new records flow in, and the field mappings the sync worker applies when it builds
// an Align call. The api validates with these rules, the worker renders with them, the ingest gates with them.
//
// Glossary
// - outbound: Illumera → Align (the outbox and the sync worker). Align's status changes on the entries we
//   pushed flow back through webhooks whatever the direction: they are part of that push.
// - inbound: entries logged directly in Align (time.logged without an Illumera externalRef) imported here.
// - description template: the Align time entry description, built from `{{field}}` placeholders over a fixed
//   set of the entry's fields; nothing else is evaluated.
import { type Static, Type } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import type { IllumeraUserRole } from './tables/users.js'

export const SYNC_DIRECTIONS = ['illumera_to_align', 'align_to_illumera', 'bidirectional'] as const
export type SyncDirection = (typeof SYNC_DIRECTIONS)[number]
export const DEFAULT_SYNC_DIRECTION: SyncDirection = 'bidirectional'

/** Whether the api writes outbox rows for this connection. */
export function pushesToAlign(direction: SyncDirection): boolean {
  return direction !== 'align_to_illumera'
}

/** Whether the ingest imports entries logged directly in Align. */
export function importsFromAlign(direction: SyncDirection): boolean {
  return direction !== 'illumera_to_align'
}

/** Illumera's roles (users.role), the keys of the role mapping. */
export const ILLUMERA_USER_ROLES = ['talent', 'hiring_manager'] as const satisfies readonly IllumeraUserRole[]

/**
 * The Align roles an integration may assign (the member roles the reference names). Organization admin is
 * deliberately absent: a mapping must never mint Align administrators.
 */
export const ALIGN_ASSIGNABLE_ROLES = ['developer', 'tech_lead', 'devops_engineer', 'manager'] as const
export type AlignAssignableRole = (typeof ALIGN_ASSIGNABLE_ROLES)[number]

/** from_project: the project's time_billing_enabled (the reference's behaviour); always / never override it. */
export const BILLABLE_MODES = ['from_project', 'always', 'never'] as const
export type BillableMode = (typeof BILLABLE_MODES)[number]

/** The entry fields a description template may use. */
export const DESCRIPTION_TEMPLATE_FIELDS = ['notes', 'workDate', 'minutes', 'hours', 'projectName', 'userName', 'userEmail', 'entryId'] as const
export type DescriptionTemplateField = (typeof DESCRIPTION_TEMPLATE_FIELDS)[number]
export const DESCRIPTION_TEMPLATE_MAX_LENGTH = 1000
/** Align refuses a longer time entry description; a rendered description is cut to it. */
export const ALIGN_DESCRIPTION_MAX_LENGTH = 10_000
/** Align's wiki page title limit. */
export const WIKI_PAGE_TITLE_MAX_LENGTH = 500

export const SyncDirectionSchema = Type.Union(SYNC_DIRECTIONS.map((v) => Type.Literal(v)))
export const AlignRoleSchema = Type.Union(ALIGN_ASSIGNABLE_ROLES.map((v) => Type.Literal(v)))
export const BillableModeSchema = Type.Union(BILLABLE_MODES.map((v) => Type.Literal(v)))
export const WikiPageTitleSchema = Type.String({ minLength: 1, maxLength: WIKI_PAGE_TITLE_MAX_LENGTH, pattern: '\\S' })
export const DescriptionTemplateSchema = Type.String({ maxLength: DESCRIPTION_TEMPLATE_MAX_LENGTH })

export const FieldMappingsSchema = Type.Object({
  /** Illumera role → the Align role of the invited user and of their project memberships. */
  roles: Type.Object({ talent: AlignRoleSchema, hiring_manager: AlignRoleSchema }, { additionalProperties: false }),
  /** Template of the Align time entry description (an empty result is sent as null). */
  timeEntryDescription: DescriptionTemplateSchema,
  billable: BillableModeSchema,
  /** Title of the staffing wiki page of each project. */
  wikiPageTitle: WikiPageTitleSchema,
}, { additionalProperties: false })
export type FieldMappings = Static<typeof FieldMappingsSchema>

/** Today's behaviour of the reference (plus hiring manager → manager), so an untouched connection syncs as before. */
export const DEFAULT_FIELD_MAPPINGS: FieldMappings = {
  roles: { talent: 'developer', hiring_manager: 'manager' },
  timeEntryDescription: '{{notes}}',
  billable: 'from_project',
  wikiPageTitle: 'Illumera Staffing Plan',
}

/**
 * The mappings in force: the stored value (align_connections.field_mappings) over the defaults. A stored part
 * that is not valid (written by hand, say) falls back to its default rather than break every sync.
 */
export function effectiveFieldMappings(stored: unknown): FieldMappings {
  const s = stored && typeof stored === 'object' && !Array.isArray(stored) ? (stored as Record<string, unknown>) : {}
  const storedRoles = s.roles && typeof s.roles === 'object' ? (s.roles as Record<string, unknown>) : {}
  const pick = <T>(schema: Parameters<typeof Value.Check>[0], value: unknown, fallback: T): T => (Value.Check(schema, value) ? (value as T) : fallback)
  const template = pick(DescriptionTemplateSchema, s.timeEntryDescription, DEFAULT_FIELD_MAPPINGS.timeEntryDescription)
  return {
    roles: {
      talent: pick(AlignRoleSchema, storedRoles.talent, DEFAULT_FIELD_MAPPINGS.roles.talent),
      hiring_manager: pick(AlignRoleSchema, storedRoles.hiring_manager, DEFAULT_FIELD_MAPPINGS.roles.hiring_manager),
    },
    timeEntryDescription: 'error' in parseDescriptionTemplate(template) ? DEFAULT_FIELD_MAPPINGS.timeEntryDescription : template,
    billable: pick(BillableModeSchema, s.billable, DEFAULT_FIELD_MAPPINGS.billable),
    wikiPageTitle: pick(WikiPageTitleSchema, s.wikiPageTitle, DEFAULT_FIELD_MAPPINGS.wikiPageTitle),
  }
}

/** The Align role for an Illumera role (an unknown role is treated as talent, the reference's default). */
export function alignRoleFor(mappings: FieldMappings, illumeraRole: unknown): AlignAssignableRole {
  return illumeraRole === 'hiring_manager' ? mappings.roles.hiring_manager : mappings.roles.talent
}

/** The billable flag sent to Align. */
export function billableFor(mappings: FieldMappings, projectTimeBillingEnabled: boolean): boolean {
  return mappings.billable === 'always' ? true : mappings.billable === 'never' ? false : projectTimeBillingEnabled
}

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g

/** The fields a template uses, or why it is not a valid template (naming the offending placeholder; phrased to follow the field's name). */
export function parseDescriptionTemplate(template: string): { fields: DescriptionTemplateField[] } | { error: string } {
  if (template.length > DESCRIPTION_TEMPLATE_MAX_LENGTH) return { error: `is longer than ${DESCRIPTION_TEMPLATE_MAX_LENGTH} characters` }
  const fields = new Set<DescriptionTemplateField>()
  for (const match of template.matchAll(PLACEHOLDER)) {
    const name = match[1]!
    if (!(DESCRIPTION_TEMPLATE_FIELDS as readonly string[]).includes(name)) {
      return { error: `has an unknown placeholder {{${name}}} (allowed: ${DESCRIPTION_TEMPLATE_FIELDS.map((f) => `{{${f}}}`).join(', ')})` }
    }
    fields.add(name as DescriptionTemplateField)
  }
  const rest = template.replace(PLACEHOLDER, '')
  if (rest.includes('{{') || rest.includes('}}')) return { error: 'has an unclosed or nested {{ }} placeholder' }
  return { fields: [...fields] }
}

export type DescriptionTemplateValues = { [K in DescriptionTemplateField]?: string | number | null }

/** Align's "hours" notation: 150 → "2.5", 100 → "1.67". */
export function formatHours(minutes: number): string {
  return String(Math.round((minutes / 60) * 100) / 100)
}

/**
 * The description for a validated template: each placeholder replaced by its value (a missing value by
 * nothing), cut to Align's limit; an empty result is null (as an entry without notes has today).
 */
export function renderDescriptionTemplate(template: string, values: DescriptionTemplateValues): string | null {
  const text = template.replace(PLACEHOLDER, (_all, name: string) => {
    const value = values[name as DescriptionTemplateField]
    return value === null || value === undefined ? '' : String(value)
  })
  if (text.length === 0) return null
  return text.length > ALIGN_DESCRIPTION_MAX_LENGTH ? text.slice(0, ALIGN_DESCRIPTION_MAX_LENGTH) : text
}
