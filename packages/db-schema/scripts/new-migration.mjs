// pnpm db:migration:new <verb-noun>: creates src/migrations/<ISO stamp>-<name>.ts (never overwrites)
// and prints the line to add to src/migrations/index.ts.
import { readdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const name = process.argv[2]
if (!name || !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(name)) {
  console.error('usage: pnpm db:migration:new <verb-noun>   (kebab-case, e.g. create-align-rate-budgets)')
  process.exit(2)
}
const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'migrations')
const toStamp = (date) => date.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
const fromStamp = (s) => new Date(s.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'))
// Migrations run in name order: the new one must sort after every existing one, even if a clock is behind.
const latest = readdirSync(dir).map((f) => /^(\d{8}T\d{6}Z)-/.exec(f)?.[1]).filter(Boolean).sort().at(-1)
const now = new Date()
const stamp = toStamp(latest && fromStamp(latest) >= now ? new Date(fromStamp(latest).getTime() + 60_000) : now)
const file = path.join(dir, `${stamp}-${name}.ts`)
writeFileSync(file, `import { type Kysely, sql } from 'kysely'\n\nexport async function up(db: Kysely<any>): Promise<void> {\n  await sql\`\`.execute(db)\n}\n\nexport async function down(db: Kysely<any>): Promise<void> {\n  await sql\`\`.execute(db)\n}\n`, { flag: 'wx' })
console.log(`created ${path.relative(process.cwd(), file)}; add it to src/migrations/index.ts`)
