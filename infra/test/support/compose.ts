// docker-compose.yml as compose reads it: YAML with merge keys, then `${VAR}` interpolation.
import { isRecord, parseYamlDocuments, readRepoFile } from './repo.js'

export interface ComposeService {
  image?: string
  build?: { context?: string; dockerfile?: string; target?: string }
  environment?: Record<string, string | number | boolean | null>
  ports?: string[]
  depends_on?: Record<string, { condition?: string }> | string[]
  healthcheck?: { test?: string[] | string; disable?: boolean }
  profiles?: string[]
  restart?: string
  stop_grace_period?: string
}

export interface ComposeFile {
  services: Record<string, ComposeService>
}

export function readCompose(relative = 'docker-compose.yml'): ComposeFile {
  const [doc, ...rest] = parseYamlDocuments(readRepoFile(relative), relative)
  if (rest.length > 0) throw new Error(`${relative}: one YAML document expected`)
  if (!isRecord(doc) || !isRecord(doc.services)) throw new Error(`${relative}: no services`)
  return doc as unknown as ComposeFile
}

export class MissingVariableError extends Error {
  constructor(readonly variable: string, message: string) {
    super(message)
  }
}

/**
 * Compose's interpolation: `$$` is a literal `$`; `${V}`/`$V` (empty when unset), `${V:-d}` / `${V-d}`
 * (default when unset or empty / unset), `${V:?msg}` / `${V?msg}` (an error when unset or empty / unset).
 */
export function interpolate(value: string, variables: Record<string, string | undefined>): string {
  return value.replace(/\$\$|\$\{(\w+)(?:(:?)([-?])([^}]*))?\}|\$(\w+)/g, (whole, braced?: string, colon?: string, op?: string, arg?: string, bare?: string) => {
    if (whole === '$$') return '$'
    const name = (braced ?? bare)!
    const current = variables[name]
    const missing = colon ? current === undefined || current === '' : current === undefined
    if (op === '-') return missing ? arg! : current!
    if (op === '?') {
      if (missing) throw new MissingVariableError(name, arg || `${name} is required`)
      return current!
    }
    return current ?? ''
  })
}

/** Every variable a compose file interpolates, with whether it is required (`:?`/`?`). */
export function interpolatedVariables(text: string): Map<string, { required: boolean }> {
  const found = new Map<string, { required: boolean }>()
  for (const match of text.matchAll(/\$\{(\w+)(?::?([-?]))?/g)) {
    const previous = found.get(match[1]!)
    found.set(match[1]!, { required: (previous?.required ?? false) || match[2] === '?' })
  }
  return found
}

/** A service's environment with interpolation applied. */
export function serviceEnvironment(service: ComposeService, variables: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(String(v ?? ''), variables)]))
}

/** `depends_on` in its long form; the short list form has no conditions and reads as none. */
export function dependencies(service: ComposeService): Record<string, string | undefined> {
  const dependsOn = service.depends_on ?? {}
  if (Array.isArray(dependsOn)) return Object.fromEntries(dependsOn.map((name) => [name, undefined]))
  return Object.fromEntries(Object.entries(dependsOn).map(([name, d]) => [name, d.condition]))
}

/** The container ports a service publishes ("127.0.0.1:3000:3000" → 3000). */
export function containerPorts(service: ComposeService, variables: Record<string, string | undefined>): number[] {
  return (service.ports ?? []).map((spec) => {
    const target = interpolate(String(spec), variables).split('/')[0]!.split(':').at(-1)!
    return Number.parseInt(target, 10)
  })
}
