// infra/k8s: every manifest valid for its apiVersion/kind, and what the deployment needs of it: probes on
// the right paths and ports, resources, locked-down security contexts, a grace period that covers the
// worker's drain, the CronJob's safety fields, and for each container the environment its own config
// parser requires, from a ConfigMap that has the keys and a Secret that is referenced, never defined.
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { alignCallTimeoutMs, type Deployable, deployables, type Env, FAKE_SECRET_VALUES, MAX_SEQUENTIAL_ALIGN_CALLS_PER_ROW } from './support/deployables.js'
import { imageConfig, readDockerfile } from './support/dockerfile.js'
import {
  type Container, K8S_DIR, loadManifests, type Manifest, podTemplate, type PodTemplate, resolvePort, selects, validateManifest,
} from './support/k8s.js'
import { isRecord, listRepoFiles, parseYamlDocuments, readRepoFile } from './support/repo.js'

const manifests = loadManifests()
const EXAMPLES_DIR = `${K8S_DIR}/examples/`
const MIGRATE_JOB_FILE = `${K8S_DIR}/migrate-job.yaml`
const isExample = (m: Manifest) => m.file.startsWith(EXAMPLES_DIR)
/** What `kubectl apply -k infra/k8s` plus the migration Job create. */
const applied = manifests.filter((m) => !isExample(m))
const dockerfile = readDockerfile('infra/Dockerfile')

const SECRET_NAME = 'illumera-secrets'
const CONFIG_MAP_NAME = 'illumera-config'
const LONG_RUNNING = ['api', 'webhook-ingest', 'sync-worker'] as const
const AUTOSCALED = ['api', 'webhook-ingest'] as const

function find(kind: string, name: string, from: Manifest[] = applied): Manifest {
  const found = from.find((m) => m.kind === kind && m.metadata.name === name)
  if (!found) throw new Error(`no ${kind} ${name} in ${K8S_DIR}`)
  return found
}

const spec = (m: Manifest) => m.spec as Record<string, any>
const deploymentName = (service: string) => `illumera-${service}`

/** The workloads and the deployable each container runs (by image `illumera/<deployable>:tag`). */
function workloadContainers(): { manifest: Manifest; template: PodTemplate; container: Container; deployable: Deployable }[] {
  return applied.flatMap((manifest) => {
    const template = podTemplate(manifest)
    if (!template) return []
    return template.spec.containers.map((container) => {
      const name = /^illumera\/([\w-]+):[\w.-]+$/.exec(container.image)?.[1]
      const deployable = deployables.find((d) => d.name === name)
      if (!deployable) throw new Error(`${manifest.file}: ${container.name} runs ${container.image}, not an illumera/<deployable>:<tag> image`)
      return { manifest, template, container, deployable }
    })
  })
}

describe('validateManifest', () => {
  const deployment = find('Deployment', deploymentName('api'))
  const broken = (change: (copy: Record<string, any>) => void) => {
    const copy = structuredClone(deployment) as Record<string, any>
    change(copy)
    return validateManifest(copy)
  }

  it('accepts the api Deployment as it is', async () => {
    await expect(validateManifest(deployment)).resolves.toBeUndefined()
  })

  it('rejects a copy without a required field (spec.selector)', async () => {
    await expect(broken((d) => { delete d.spec.selector })).rejects.toThrow(/selector/)
  })

  it('rejects a copy with a wrongly typed value (containerPort as text)', async () => {
    await expect(broken((d) => { d.spec.template.spec.containers[0].ports[0].containerPort = 'three thousand' })).rejects.toThrow()
  })

  it('rejects a copy with a misspelt field that the schemas alone would let through', async () => {
    await expect(broken((d) => {
      const container = d.spec.template.spec.containers[0]
      container.readinesProbe = container.readinessProbe
      delete container.readinessProbe
    })).rejects.toThrow(/spec\.template\.spec\.containers\[0\]\.readinesProbe/)
    // A pod field one level too high: on the Deployment's spec, where Kubernetes would drop it.
    await expect(broken((d) => { d.spec.terminationGracePeriodSeconds = 120 })).rejects.toThrow(/unknown field\(s\) spec\.terminationGracePeriodSeconds$/)
  })

  it('accepts free-form maps (labels, annotations, ConfigMap data) and rejects an unknown kind', async () => {
    await expect(broken((d) => { d.metadata.annotations = { 'example.com/any-key': 'x' } })).resolves.toBeUndefined()
    await expect(validateManifest({ ...deployment, kind: 'Deploymnet' })).rejects.toThrow(/unknown kind Deploymnet/)
    await expect(validateManifest({ ...deployment, apiVersion: 'apps/v9' })).rejects.toThrow(/unknown apiVersion/)
  })
})

describe('infra/k8s manifests', () => {
  it.each(manifests.map((m) => [`${m.file}: ${m.kind} ${m.metadata.name}`, m] as const))('%s is a valid Kubernetes object', async (_label, manifest) => {
    await validateManifest(manifest)
  })

  it('kustomization.yaml lists every manifest except the migration Job and the examples', () => {
    const [kustomization] = parseYamlDocuments(readRepoFile(`${K8S_DIR}/kustomization.yaml`), 'kustomization.yaml') as { kind: string; resources: string[] }[]
    expect(kustomization!.kind).toBe('Kustomization')
    const expected = listRepoFiles(K8S_DIR)
      .filter((f) => f.endsWith('.yaml') && !f.endsWith('/kustomization.yaml') && f !== MIGRATE_JOB_FILE && !f.startsWith(EXAMPLES_DIR))
      .map((f) => path.relative(K8S_DIR, f))
    expect([...kustomization!.resources].sort()).toEqual(expected.sort())
  })

  it('has the workloads the issue asks for', () => {
    for (const service of LONG_RUNNING) {
      find('Deployment', deploymentName(service))
      find('Service', deploymentName(service))
      find('PodDisruptionBudget', deploymentName(service))
    }
    for (const service of AUTOSCALED) expect(find('HorizontalPodAutoscaler', deploymentName(service)).apiVersion).toBe('autoscaling/v2')
    expect(find('Job', 'illumera-migrate').file).toBe(MIGRATE_JOB_FILE)
    find('CronJob', 'illumera-reconciliation')
  })

  it('defines no Secret (only references one); the example is placeholders only and not applied', () => {
    expect(applied.filter((m) => m.kind === 'Secret')).toEqual([])
    const example = find('Secret', SECRET_NAME, manifests)
    expect(isExample(example)).toBe(true)
    for (const [key, value] of Object.entries({ ...(example.data as object), ...(example.stringData as object) })) {
      expect(['REPLACE_ME', ''], `${key} is a placeholder`).toContain(value)
    }
  })

  it.each(workloadContainers().map((w) => [`${w.manifest.kind} ${w.manifest.metadata.name}`, w] as const))('%s: resources, and a locked-down security context matching the image user', (_label, { template, container, deployable }) => {
    for (const kind of ['requests', 'limits'] as const) {
      expect(container.resources?.[kind]?.cpu, `${kind}.cpu`).toBeTruthy()
      expect(container.resources?.[kind]?.memory, `${kind}.memory`).toBeTruthy()
    }
    const pod = template.spec.securityContext
    expect(pod?.runAsNonRoot).toBe(true)
    const imageUser = imageConfig(dockerfile, deployable.name).user!
    expect(`${pod?.runAsUser}:${pod?.runAsGroup}`).toBe(imageUser.includes(':') ? imageUser : `${imageUser}:${imageUser}`)
    const own = container.securityContext
    expect(own?.allowPrivilegeEscalation).toBe(false)
    expect(own?.readOnlyRootFilesystem).toBe(true)
    expect(own?.privileged ?? false).toBe(false)
    expect(own?.capabilities?.drop).toContain('ALL')
    expect(own?.capabilities?.add ?? []).toEqual([])
    expect(container.name).toBe(deployable.name)
  })

  it.each(workloadContainers().map((w) => [`${w.manifest.kind} ${w.manifest.metadata.name}`, w] as const))('%s: the environment its config parser requires, from the ConfigMap and the Secret', (_label, { manifest, container, deployable }) => {
    const configMap = find('ConfigMap', CONFIG_MAP_NAME)
    const configData = (configMap.data ?? {}) as Record<string, string>
    const exampleSecret = find('Secret', SECRET_NAME, manifests)
    const secretKeys = Object.keys({ ...(exampleSecret.stringData as object), ...(exampleSecret.data as object) })
    const fakeSecret: Record<string, string | undefined> = { 'database-url': FAKE_SECRET_VALUES.databaseUrl, 'align-encryption-key': FAKE_SECRET_VALUES.encryptionKey }
    const env: Env = {}
    expect(container.envFrom, 'env names are listed one by one').toBeUndefined()
    for (const variable of container.env ?? []) {
      expect(deployable.reads, `${manifest.metadata.name} reads ${variable.name}`).toContain(variable.name)
      const secretRef = variable.valueFrom?.secretKeyRef
      const configRef = variable.valueFrom?.configMapKeyRef
      if (secretRef) {
        expect(secretRef.name).toBe(SECRET_NAME)
        expect(secretKeys, `${variable.name}: key ${secretRef.key} is documented in the example Secret`).toContain(secretRef.key)
        env[variable.name] = secretRef.optional ? undefined : fakeSecret[secretRef.key]
        expect(secretRef.optional || fakeSecret[secretRef.key] !== undefined, `${variable.name}: ${secretRef.key} has a stand-in value`).toBe(true)
      } else if (configRef) {
        expect(configRef.name).toBe(CONFIG_MAP_NAME)
        if (!configRef.optional) expect(Object.keys(configData), `${variable.name}: ConfigMap key ${configRef.key}`).toContain(configRef.key)
        env[variable.name] = configData[configRef.key]
      } else {
        expect(/PASSWORD|SECRET|TOKEN|ENCRYPTION_KEY|DATABASE_URL/.test(variable.name), `${variable.name} must come from the Secret`).toBe(false)
        env[variable.name] = variable.value
      }
    }
    const image = imageConfig(dockerfile, deployable.name)
    expect(() => deployable.loadConfig({ ...image.env, ...env })).not.toThrow()
  })

  it.each(LONG_RUNNING.map((s) => [s] as const))('%s: probes /readyz (readiness) and /healthz (liveness) on the port it listens on', (service) => {
    const deployment = find('Deployment', deploymentName(service))
    const d = deployables.find((x) => x.name === service)!
    const container = podTemplate(deployment)!.spec.containers.find((c) => c.name === service)!
    const listens = Number(container.env?.find((e) => e.name === 'PORT')?.value ?? d.schema?.properties.PORT?.default)
    expect(listens).toBe(d.server!.port)
    const probes = { readinessProbe: '/readyz', livenessProbe: '/healthz', startupProbe: '/healthz' } as const
    for (const [probe, pathExpected] of Object.entries(probes) as [keyof typeof probes, string][]) {
      const get = container[probe]?.httpGet
      if (probe === 'startupProbe' && !get) continue
      expect(get?.path, `${probe} path`).toBe(pathExpected)
      expect(resolvePort(container, get!.port), `${probe} port`).toBe(listens)
    }
  })

  it.each(LONG_RUNNING.map((s) => [s] as const))('%s: a Service and a PodDisruptionBudget select its pods; the Service targets its port', (service) => {
    const deployment = find('Deployment', deploymentName(service))
    const template = podTemplate(deployment)!
    const labels = template.metadata?.labels
    expect(selects(spec(deployment).selector.matchLabels, labels), 'Deployment selector').toBe(true)
    const svc = find('Service', deploymentName(service))
    expect(selects(spec(svc).selector, labels), 'Service selector').toBe(true)
    for (const port of spec(svc).ports as { targetPort: string | number }[]) {
      expect(resolvePort(template.spec.containers[0]!, port.targetPort)).toBe(deployables.find((d) => d.name === service)!.server!.port)
    }
    const budgets = applied.filter((m) => m.kind === 'PodDisruptionBudget' && selects(spec(m).selector.matchLabels, labels))
    expect(budgets).toHaveLength(1)
    // A budget that allows no disruption at all would block every node drain.
    const replicas = spec(deployment).replicas ?? spec(find('HorizontalPodAutoscaler', deploymentName(service))).minReplicas
    const budget = spec(budgets[0]!)
    if (budget.minAvailable !== undefined) expect(budget.minAvailable).toBeLessThan(replicas)
    else expect(budget.maxUnavailable).toBeGreaterThanOrEqual(1)
  })

  it.each(AUTOSCALED.map((s) => [s] as const))('%s: autoscaled on CPU, which its pods request; the Deployment leaves replicas to the autoscaler', (service) => {
    const hpa = spec(find('HorizontalPodAutoscaler', deploymentName(service)))
    expect(hpa.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deploymentName(service) })
    const deployment = find('Deployment', deploymentName(service))
    expect(spec(deployment).replicas).toBeUndefined()
    expect(hpa.minReplicas).toBeGreaterThanOrEqual(2)
    expect(hpa.maxReplicas).toBeGreaterThan(hpa.minReplicas)
    for (const metric of hpa.metrics as { type: string; resource?: { name: string } }[]) {
      expect(metric.type).toBe('Resource')
      for (const container of podTemplate(deployment)!.spec.containers) expect(container.resources?.requests?.[metric.resource!.name], container.name).toBeTruthy()
    }
  })

  it('gives the sync worker a termination grace period longer than its drain (every Align call of an in-flight row)', () => {
    const template = podTemplate(find('Deployment', deploymentName('sync-worker')))!
    const container = template.spec.containers[0]!
    const env = Object.fromEntries((container.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]))
    const drainMs = MAX_SEQUENTIAL_ALIGN_CALLS_PER_ROW * alignCallTimeoutMs(env)
    expect(template.spec.terminationGracePeriodSeconds! * 1000).toBeGreaterThan(drainMs)
  })

  it('runs the reconciliation nightly, one run at a time, with bounded retries and history', () => {
    const cronJob = spec(find('CronJob', 'illumera-reconciliation'))
    // Minute and hour fixed, every day.
    expect(cronJob.schedule).toMatch(/^\d{1,2} \d{1,2} \* \* \*$/)
    expect(cronJob.timeZone).toBeTruthy()
    expect(cronJob.concurrencyPolicy).toBe('Forbid')
    expect(cronJob.startingDeadlineSeconds).toBeGreaterThan(0)
    expect(cronJob.successfulJobsHistoryLimit).toBeGreaterThanOrEqual(1)
    expect(cronJob.failedJobsHistoryLimit).toBeGreaterThanOrEqual(1)
    const job = cronJob.jobTemplate.spec
    expect(job.backoffLimit).toBeGreaterThanOrEqual(0)
    expect(job.activeDeadlineSeconds).toBeLessThan(24 * 60 * 60)
    expect(job.template.spec.restartPolicy).toBe('Never')
    // Exit 1 means "discrepancies found": a finished run, failed at once rather than repeated.
    const rules = job.podFailurePolicy.rules as { action: string; onExitCodes?: { containerName: string; operator: string; values: number[] } }[]
    const discrepancies = rules.find((r) => r.onExitCodes?.values.includes(1))
    expect(discrepancies?.action).toBe('FailJob')
    expect(discrepancies?.onExitCodes?.operator).toBe('In')
    expect(job.template.spec.containers.map((c: Container) => c.name)).toContain(discrepancies?.onExitCodes?.containerName)
  })

  it('runs the migrations as a Job that finishes and is retried a bounded number of times', () => {
    const job = spec(find('Job', 'illumera-migrate'))
    expect(job.template.spec.restartPolicy).toBe('Never')
    expect(job.backoffLimit).toBeGreaterThanOrEqual(1)
    expect(job.activeDeadlineSeconds).toBeGreaterThan(0)
    expect(job.template.spec.containers[0].image).toMatch(/^illumera\/migrate:/)
  })

  it('uses one image tag for every workload', () => {
    const tags = new Set(workloadContainers().map(({ container }) => container.image.split(':')[1]))
    expect(tags.size).toBe(1)
    expect(isRecord(find('ConfigMap', CONFIG_MAP_NAME).data)).toBe(true)
  })
})
