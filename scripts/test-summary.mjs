// Adds up every workspace package's vitest JSON report (test-results/vitest.json) into one plain line,
// "N passed, M failed", which CI reads. A package whose tests did not report (crashed, did not run) or
// whose typecheck failed counts as a failure, so a broken package can never look green.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** Every workspace package (pnpm-workspace.yaml's `packages:` list: `dir/*` globs or plain folders). */
function workspaceDirs() {
  const yaml = readFileSync(path.join(root, 'pnpm-workspace.yaml'), 'utf8')
  const list = yaml.split('\n\n')[0].split('\n').filter((l) => /^\s+-\s/.test(l)).map((l) => l.replace(/^\s+-\s*/, '').replace(/['"]/g, '').trim())
  return list.flatMap((entry) => {
    if (!entry.endsWith('/*')) return [path.join(root, entry)]
    const base = path.join(root, entry.slice(0, -2))
    return existsSync(base) ? readdirSync(base).map((d) => path.join(base, d)) : []
  })
}

/** Workspace packages that have a `test` script, as { name, dir }. */
export function testedPackages() {
  const found = []
  for (const dir of workspaceDirs()) {
    const manifest = path.join(dir, 'package.json')
    if (!existsSync(manifest)) continue
    const pkg = JSON.parse(readFileSync(manifest, 'utf8'))
    if (pkg.scripts?.test) found.push({ name: pkg.name, dir })
  }
  return found
}

export function resultsFile(dir) {
  return path.join(dir, 'test-results', 'vitest.json')
}

export const typecheckFile = path.join(root, 'test-results', 'typecheck.json')

export function summarize() {
  let passed = 0
  let failed = 0
  let skipped = 0
  const problems = []
  for (const { name, dir } of testedPackages()) {
    const file = resultsFile(dir)
    if (!existsSync(file)) {
      failed++
      problems.push(`${name}: no test report (the test run crashed or did not start)`)
      continue
    }
    const report = JSON.parse(readFileSync(file, 'utf8'))
    const failedBefore = failed
    for (const suite of report.testResults ?? []) {
      const statuses = (suite.assertionResults ?? []).map((a) => a.status)
      passed += statuses.filter((s) => s === 'passed').length
      const failedHere = statuses.filter((s) => s === 'failed').length
      skipped += statuses.filter((s) => s === 'skipped' || s === 'pending' || s === 'todo').length
      failed += failedHere
      if (suite.status === 'failed' && failedHere === 0) {
        failed++
        problems.push(`${name}: ${path.relative(root, suite.name)} failed to run: ${String(suite.message ?? '').split('\n')[0]}`)
      }
    }
    if (report.success === false && failed === failedBefore) {
      failed++
      problems.push(`${name}: vitest reported failure (${report.numTotalTests ? 'see its output' : 'no tests ran'})`)
    }
  }
  if (existsSync(typecheckFile)) {
    for (const pkg of JSON.parse(readFileSync(typecheckFile, 'utf8')).failed ?? []) {
      failed++
      problems.push(`${pkg}: typecheck failed`)
    }
  }
  return { passed, failed, skipped, problems }
}

export function summaryLine({ passed, failed, skipped }) {
  return `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const summary = summarize()
  for (const problem of summary.problems) console.log(`problem: ${problem}`)
  console.log(summaryLine(summary))
  process.exitCode = summary.failed > 0 ? 1 : 0
}
