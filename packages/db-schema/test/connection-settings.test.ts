// The connection settings' rules, shared by the api (validation), the sync worker (rendering) and the ingest.
import { describe, expect, it } from 'vitest'
import {
  ALIGN_DESCRIPTION_MAX_LENGTH, alignRoleFor, billableFor, DEFAULT_FIELD_MAPPINGS, DESCRIPTION_TEMPLATE_MAX_LENGTH, effectiveFieldMappings,
  formatHours, importsFromAlign, parseDescriptionTemplate, pushesToAlign, renderDescriptionTemplate,
} from '../src/index.js'

describe('description template', () => {
  it('lists the whitelisted fields it uses, with or without spaces inside the braces', () => {
    expect(parseDescriptionTemplate('{{notes}} ({{ projectName }}, {{hours}} h) {{notes}}')).toEqual({ fields: ['notes', 'projectName', 'hours'] })
    expect(parseDescriptionTemplate('no placeholders')).toEqual({ fields: [] })
  })

  it('names an unknown placeholder, and refuses unclosed or nested braces and an over-long template', () => {
    const unknown = parseDescriptionTemplate('{{notes}} by {{password}}')
    expect('error' in unknown && unknown.error).toMatch(/^has an unknown placeholder \{\{password\}\} \(allowed: \{\{notes\}\}, /)
    expect(parseDescriptionTemplate('{{notes')).toEqual({ error: 'has an unclosed or nested {{ }} placeholder' })
    expect(parseDescriptionTemplate('{{ {{notes}} }}')).toEqual({ error: 'has an unclosed or nested {{ }} placeholder' })
    expect(parseDescriptionTemplate('x'.repeat(DESCRIPTION_TEMPLATE_MAX_LENGTH + 1))).toEqual({ error: `is longer than ${DESCRIPTION_TEMPLATE_MAX_LENGTH} characters` })
  })

  it('renders values as text, a missing value as nothing, an empty result as null, and cuts to Align\'s limit', () => {
    const values = { notes: 'Auth module', projectName: 'GSA', minutes: 150, hours: formatHours(150), workDate: '2026-11-02' }
    expect(renderDescriptionTemplate('{{workDate}}: {{notes}} [{{projectName}}] {{minutes}} min = {{hours}} h', values))
      .toBe('2026-11-02: Auth module [GSA] 150 min = 2.5 h')
    expect(renderDescriptionTemplate('{{notes}}', { notes: null })).toBeNull()
    expect(renderDescriptionTemplate('Work: {{notes}}', {})).toBe('Work: ')
    // Values are never re-parsed as templates.
    expect(renderDescriptionTemplate('{{notes}}', { notes: '{{userEmail}}' })).toBe('{{userEmail}}')
    const long = renderDescriptionTemplate('{{notes}}{{notes}}{{notes}}', { notes: 'n'.repeat(5000) })
    expect(long).toHaveLength(ALIGN_DESCRIPTION_MAX_LENGTH)
    expect(formatHours(100)).toBe('1.67')
    expect(formatHours(60)).toBe('1')
  })
})

describe('field mappings', () => {
  it('an untouched connection ({}) gets the defaults, which are the reference\'s behaviour', () => {
    const m = effectiveFieldMappings({})
    expect(m).toEqual(DEFAULT_FIELD_MAPPINGS)
    expect(alignRoleFor(m, 'talent')).toBe('developer')
    expect(alignRoleFor(m, 'hiring_manager')).toBe('manager')
    expect(alignRoleFor(m, undefined)).toBe('developer')
    expect(renderDescriptionTemplate(m.timeEntryDescription, { notes: 'Auth module' })).toBe('Auth module')
    expect(billableFor(m, true)).toBe(true)
    expect(billableFor(m, false)).toBe(false)
  })

  it('applies stored values and falls back part by part where a stored value is invalid', () => {
    const m = effectiveFieldMappings({
      roles: { talent: 'tech_lead', hiring_manager: 'admin' }, timeEntryDescription: '{{secret}}', billable: 'always', wikiPageTitle: '   ',
    })
    expect(m).toEqual({ ...DEFAULT_FIELD_MAPPINGS, roles: { talent: 'tech_lead', hiring_manager: 'manager' }, billable: 'always' })
    expect(billableFor(m, false)).toBe(true)
    expect(billableFor({ ...m, billable: 'never' }, true)).toBe(false)
    expect(effectiveFieldMappings(null)).toEqual(DEFAULT_FIELD_MAPPINGS)
    expect(effectiveFieldMappings({ wikiPageTitle: 'Staffing', timeEntryDescription: '' })).toMatchObject({ wikiPageTitle: 'Staffing', timeEntryDescription: '' })
  })
})

describe('sync direction', () => {
  it('outbound is off only for align_to_illumera, inbound only for illumera_to_align', () => {
    expect([pushesToAlign('bidirectional'), pushesToAlign('illumera_to_align'), pushesToAlign('align_to_illumera')]).toEqual([true, true, false])
    expect([importsFromAlign('bidirectional'), importsFromAlign('illumera_to_align'), importsFromAlign('align_to_illumera')]).toEqual([true, false, true])
  })
})
