// The published tarball installs and type-checks in an empty NodeNext project, with both entries.
import { execFile } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { VERSION } from '../src/index.js'

const run = promisify(execFile)
// npm waits 5 minutes on a registry request that hangs before retrying it (fetch-timeout 300000): a single stalled
// request once used up this test's whole budget. Give up on one after 30 s and retry it instead.
const NPM_FETCH_FLAGS = ['--fetch-timeout=30000', '--fetch-retries=5', '--fetch-retry-mintimeout=2000', '--fetch-retry-maxtimeout=10000']
const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
let tmp: string | undefined

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true })
})

const consumer = `
import { AlignGateway, AlignApiError, AlignRateLimitError, verifyAlignWebhook, signAlignWebhook, type AlignTimeEntry } from '@illumera/align-gateway'
import { buildAlignWebhookRequest } from '@illumera/align-gateway/testing'

const align = new AlignGateway({ apiKey: 'k', baseUrl: 'http://127.0.0.1:1/api/v1', timeoutMs: 1000 })
export async function create(): Promise<AlignTimeEntry> {
  return align.createTimeEntry('p', {
    userId: 'u', workDate: '2025-01-15', minutes: 30,
    externalRef: { externalType: 'time_entry', externalId: 'local' },
  }, { idempotencyKey: 'local' })
}
// @ts-expect-error creates require an idempotency key
void align.createProject({ name: 'x', externalRef: { externalType: 'project', externalId: 'p' } }, {})
// @ts-expect-error the externalType is fixed per method
void align.createProject({ name: 'x', externalRef: { externalType: 'user', externalId: 'p' } }, { idempotencyKey: 'p' })
export function classify(err: unknown): number | null {
  if (err instanceof AlignRateLimitError) return err.retryAfterSeconds
  if (err instanceof AlignApiError) return err.status
  return null
}
const { headers, rawBody } = buildAlignWebhookRequest('s', 'time.approved', { organizationId: 'o' })
const result = verifyAlignWebhook({ headers, rawBody, secrets: ['s'] })
if (result.ok) { const event: string = result.event; void event } else { const reason: 'missing_header' | 'malformed_signature' | 'bad_signature' | 'stale_timestamp' = result.reason; void reason }
void signAlignWebhook
`

describe('the published package', () => {
  it('package.json version matches the VERSION constant', async () => {
    const pkg = JSON.parse(await readFile(path.join(packageDir, 'package.json'), 'utf8')) as { version: string }
    expect(pkg.version).toBe(VERSION)
  })

  it('builds, packs, installs and type-checks in an empty NodeNext project', { timeout: 360_000 }, async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'align-gateway-pack-'))
    await run('node', [path.join(packageDir, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: packageDir })
    await run('pnpm', ['pack', '--pack-destination', tmp], { cwd: packageDir })
    const tarball = (await readdir(tmp)).find((f) => f.endsWith('.tgz'))
    expect(tarball).toBeDefined()

    const { stdout: listing } = await run('tar', ['-tzf', path.join(tmp, tarball!)])
    expect(listing).toContain('package/dist/index.js')
    expect(listing).toContain('package/dist/index.d.ts')
    expect(listing).toContain('package/dist/testing.d.ts')
    expect(listing).toContain('package/README.md')
    expect(listing).toContain('package/CHANGELOG.md')
    expect(listing).not.toContain('package/src/')
    expect(listing).not.toContain('package/test/')

    const project = path.join(tmp, 'consumer')
    await run('mkdir', ['-p', project])
    await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
    await writeFile(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2023', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: ['node'] },
        include: ['index.ts'],
      }),
    )
    await writeFile(path.join(project, 'index.ts'), consumer)
    await run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', ...NPM_FETCH_FLAGS, path.join(tmp, tarball!), 'typescript@~5.9.3', '@types/node@^24'],
      // npm fetches from the registry: generous on a loaded 2-core CI machine (it took ~100 s once).
      { cwd: project, timeout: 300_000 },
    )
    // The packed manifest must not leak the workspace-only source condition's files.
    const installed = JSON.parse(await readFile(path.join(project, 'node_modules/@illumera/align-gateway/package.json'), 'utf8'))
    expect(Object.keys(installed.dependencies).sort()).toEqual(['@sinclair/typebox', 'undici'])
    await run('node', ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { cwd: project })

    // And the built ESM actually loads and works under plain Node.
    await writeFile(
      path.join(project, 'smoke.mjs'),
      `import { buildAlignWebhookRequest } from '@illumera/align-gateway/testing'
import { verifyAlignWebhook, AlignGateway } from '@illumera/align-gateway'
const { headers, rawBody } = buildAlignWebhookRequest('s', 'e', {})
const r = verifyAlignWebhook({ headers, rawBody, secrets: ['s'] })
new AlignGateway({ apiKey: 'k' })
console.log(JSON.stringify(r.ok))`,
    )
    const { stdout } = await run('node', ['smoke.mjs'], { cwd: project })
    expect(stdout.trim()).toBe('true')
  })
})
