// Runs the benches named on the command line (all when none), stores each result in
// results/<name>.json and rewrites REPORT.md from every stored result, so a partial run keeps
// the other sections. Each bench uses 127.0.0.1 only and stays within a few minutes.
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Bench, BenchResult } from './bench.js'
import { benches } from './benches/index.js'

const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const resultsDir = path.join(benchDir, 'results')

interface StoredResult extends BenchResult {
  name: string
  title: string
  ranAt: string
  machine: string
}

function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
  return `${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`
}

async function runOne(bench: Bench): Promise<StoredResult> {
  process.stdout.write(`bench ${bench.name}: running…\n`)
  const started = Date.now()
  const result = await bench.run()
  process.stdout.write(`bench ${bench.name}: ${result.targetsMet ? 'targets met' : 'TARGETS MISSED'} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`)
  return { ...result, name: bench.name, title: bench.title, ranAt: new Date().toISOString(), machine: machine() }
}

async function writeReport(): Promise<void> {
  const files = (await readdir(resultsDir)).filter((f) => f.endsWith('.json')).sort()
  const results: StoredResult[] = []
  for (const file of files) results.push(JSON.parse(await readFile(path.join(resultsDir, file), 'utf8')))
  const order = new Map(benches.map((b, i) => [b.name, i]))
  results.sort((a, b) => (order.get(a.name) ?? 99) - (order.get(b.name) ?? 99))
  const lines = [
    '# Benchmark report',
    '',
    'Written by `pnpm bench` (bench/src/run.ts); each section is the last run of that bench.',
    'Machines are shared and noisy: figures are medians of repeats, and every ratio compares',
    'two systems measured side by side in the same run.',
    '',
    '| bench | targets | ran at | machine |',
    '|---|---|---|---|',
    ...results.map((r) => `| [${r.title}](#${r.name}) | ${r.targetsMet ? 'met' : '**missed**'} | ${r.ranAt} | ${r.machine} |`),
    '',
  ]
  for (const r of results) lines.push(`<a id="${r.name}"></a>`, `## ${r.title}`, '', r.markdown.trim(), '')
  await writeFile(path.join(benchDir, 'REPORT.md'), lines.join('\n'))
}

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((a) => a !== '--') // `pnpm bench -- name` passes the `--` on
  const options = args.filter((a) => a.startsWith('-'))
  if (options.length) throw new Error(`unknown option: ${options.join(' ')} (usage: pnpm bench [bench names…])`)
  const wanted = args
  const unknown = wanted.filter((w) => !benches.some((b) => b.name === w))
  if (unknown.length) throw new Error(`unknown bench: ${unknown.join(', ')} (known: ${benches.map((b) => b.name).join(', ')})`)
  const selected = wanted.length ? benches.filter((b) => wanted.includes(b.name)) : benches
  await mkdir(resultsDir, { recursive: true })
  for (const bench of selected) {
    const stored = await runOne(bench)
    await writeFile(path.join(resultsDir, `${bench.name}.json`), JSON.stringify(stored, null, 2) + '\n')
  }
  await writeReport()
  process.stdout.write(`bench: wrote ${path.relative(process.cwd(), path.join(benchDir, 'REPORT.md'))}\n`)
}

main().catch((err: Error) => {
  console.error(err.message.startsWith('unknown ') ? `bench: ${err.message}` : err)
  process.exitCode = 1
})
