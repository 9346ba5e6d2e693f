// Kubernetes manifests: every document validated against the Kubernetes OpenAPI schemas that
// kubernetes-models compiles (types, required fields, enums, formats), plus a check for fields those
// schemas do not know, which the API server would drop or refuse (a misspelt `readinesProbe` is valid
// JSON Schema, since the schemas allow unknown properties).
import path from 'node:path'
import { isRecord, listRepoFiles, parseYamlDocuments, readRepoFile } from './repo.js'

export const K8S_DIR = 'infra/k8s'

export interface Manifest {
  file: string
  apiVersion: string
  kind: string
  metadata: { name: string; labels?: Record<string, string> }
  [field: string]: unknown
}

/** Every document of every .yaml under infra/k8s except kustomization.yaml (not a Kubernetes object). */
export function loadManifests(): Manifest[] {
  return listRepoFiles(K8S_DIR)
    .filter((file) => /\.ya?ml$/.test(file) && path.basename(file) !== 'kustomization.yaml')
    .flatMap((file) => parseYamlDocuments(readRepoFile(file), file).map((doc) => {
      if (!isRecord(doc) || typeof doc.apiVersion !== 'string' || typeof doc.kind !== 'string' || !isRecord(doc.metadata)) {
        throw new Error(`${file}: a document without apiVersion, kind and metadata`)
      }
      return { ...doc, file } as Manifest
    }))
}

type Validator = ((data: unknown) => boolean) & { errors?: unknown }

/** kubernetes-models' module for an apiVersion: `v1` → kubernetes-models/v1, `apps/v1` → kubernetes-models/apps/v1. */
async function modelClass(apiVersion: string, kind: string): Promise<new (data: unknown) => { validate(): void }> {
  if (!/^([a-z0-9.-]+\/)?v\d+((alpha|beta)\d+)?$/.test(apiVersion)) throw new Error(`unknown apiVersion ${apiVersion}`)
  let module: Record<string, unknown>
  try {
    module = await import(`kubernetes-models/${apiVersion}`)
  } catch {
    throw new Error(`unknown apiVersion ${apiVersion}`)
  }
  const model = module[kind]
  if (typeof model !== 'function') throw new Error(`unknown kind ${kind} in ${apiVersion}`)
  return model as new (data: unknown) => { validate(): void }
}

/** The compiled schema of the top-level object, e.g. IoK8sApiAppsV1Deployment. */
async function schemaValidator(apiVersion: string, kind: string): Promise<Validator> {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['core', apiVersion]
  const pascal = (s: string) => s.split(/[.-]/).map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('')
  const groupName = pascal(group!.replace(/\.k8s\.io$/, ''))
  const id = `IoK8sApi${groupName}${pascal(version!)}${kind}`
  const module = (await import(`kubernetes-models/_schemas/${id}`)) as { validate: Validator }
  return module.validate
}

/**
 * Paths of fields the schema does not define. The compiled validator reads every property its schema
 * defines (and enumerates the keys of maps such as labels), so a key it never reads is unknown to it.
 */
function unknownFields(doc: unknown, validate: Validator): string[] {
  const read = new Map<object, Set<PropertyKey> | 'all'>()
  const proxies = new WeakMap<object, object>()
  const observe = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null) return value
    const known = proxies.get(value)
    if (known) return known
    const keys = new Set<PropertyKey>()
    read.set(value, keys)
    const proxy = new Proxy(value, {
      get(target, key, receiver) {
        keys.add(key)
        return observe(Reflect.get(target, key, receiver))
      },
      has(target, key) {
        keys.add(key)
        return Reflect.has(target, key)
      },
      ownKeys(target) {
        read.set(target, 'all')
        return Reflect.ownKeys(target)
      },
    })
    proxies.set(value, proxy)
    return proxy
  }
  validate(observe(doc))

  const unknown: string[] = []
  const walk = (value: unknown, at: string): void => {
    if (typeof value !== 'object' || value === null) return
    const keys = read.get(value)
    // Never looked into: a free-form value (e.g. RawExtension); nothing to say about its fields.
    if (keys === undefined || (keys !== 'all' && keys.size === 0)) return
    for (const [key, child] of Object.entries(value)) {
      if (!Array.isArray(value) && keys !== 'all' && !keys.has(key)) unknown.push(`${at}.${key}`)
      else walk(child, Array.isArray(value) ? `${at}[${key}]` : `${at}.${key}`)
    }
  }
  walk(doc, '')
  return unknown.map((p) => p.slice(1))
}

/**
 * Throws when the document is not a valid object of its apiVersion/kind: the model class of
 * kubernetes-models for it (`new Deployment(doc).validate()`), then the unknown-field check.
 */
export async function validateManifest(doc: Record<string, unknown>): Promise<void> {
  const { file: _file, ...object } = doc
  const apiVersion = String(object.apiVersion)
  const kind = String(object.kind)
  const Model = await modelClass(apiVersion, kind)
  new Model(object).validate()
  const unknown = unknownFields(structuredClone(object), await schemaValidator(apiVersion, kind))
  if (unknown.length > 0) throw new Error(`${kind} ${String((object.metadata as { name?: unknown })?.name)}: unknown field(s) ${unknown.join(', ')}`)
}

// ── reading pod specs ──

export interface Container {
  name: string
  image: string
  args?: string[]
  ports?: { name?: string; containerPort: number }[]
  env?: EnvVar[]
  envFrom?: unknown[]
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> }
  readinessProbe?: Probe
  livenessProbe?: Probe
  startupProbe?: Probe
  securityContext?: {
    runAsNonRoot?: boolean
    runAsUser?: number
    allowPrivilegeEscalation?: boolean
    readOnlyRootFilesystem?: boolean
    privileged?: boolean
    capabilities?: { drop?: string[]; add?: string[] }
  }
}

export interface Probe {
  httpGet?: { path?: string; port: number | string }
}

export interface EnvVar {
  name: string
  value?: string
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean }
    configMapKeyRef?: { name: string; key: string; optional?: boolean }
  }
}

export interface PodSpec {
  containers: Container[]
  initContainers?: Container[]
  restartPolicy?: string
  terminationGracePeriodSeconds?: number
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; runAsGroup?: number }
}

export interface PodTemplate {
  metadata?: { labels?: Record<string, string> }
  spec: PodSpec
}

/** The pod template of a workload (Deployment, Job, CronJob), if it has one. */
export function podTemplate(manifest: Manifest): PodTemplate | undefined {
  const spec = manifest.spec as Record<string, any> | undefined
  if (manifest.kind === 'CronJob') return spec?.jobTemplate?.spec?.template
  if (['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'ReplicaSet'].includes(manifest.kind)) return spec?.template
  return undefined
}

/** The container port a probe or Service targets (a number, or a port name of the container). */
export function resolvePort(container: Container, port: number | string): number | undefined {
  if (typeof port === 'number') return container.ports?.some((p) => p.containerPort === port) ? port : undefined
  return container.ports?.find((p) => p.name === port)?.containerPort
}

/** matchLabels selects the labels when every pair is among them. */
export function selects(matchLabels: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!matchLabels || Object.keys(matchLabels).length === 0) return false
  return Object.entries(matchLabels).every(([k, v]) => labels?.[k] === v)
}
