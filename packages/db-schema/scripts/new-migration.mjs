// pnpm db:migration:new <verb-noun>: creates src/migrations/<ISO stamp>-<name>.ts (never overwrites)
// and prints the line to add to src/migrations/index.ts.
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const name = process.argv[2]
if (!name || !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(name)) {
  console.error('usage: pnpm db:migration:new <verb-noun>   (kebab-case, e.g. create-align-rate-budgets)')
  process.exit(2)
}
const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
const file = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'migrations', `${stamp}-${name}.ts`)
writeFileSync(file, `import { type Kysely, sql } from 'kysely'\n\nexport async function up(db: Kysely<any>): Promise<void> {\n  await sql\`\`.execute(db)\n}\n\nexport async function down(db: Kysely<any>): Promise<void> {\n  await sql\`\`.execute(db)\n}\n`, { flag: 'wx' })
console.log(`created ${path.relative(process.cwd(), file)}; add it to src/migrations/index.ts`)
