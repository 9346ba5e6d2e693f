// The contract between one benchmark and the runner (run.ts): a bench measures, the runner records.
export interface BenchResult {
  /** Markdown for the report section: method, a table of figures, each ratio beside its target. */
  markdown: string
  /** Headline numbers, kept in results/<name>.json for comparison between runs. */
  figures: Record<string, number>
  /** Whether every target of this bench was met in this run. */
  targetsMet: boolean
}

export interface Bench {
  /** File-safe id, e.g. "sandbox-throughput"; `pnpm bench sandbox-throughput` runs only it. */
  name: string
  title: string
  run(): Promise<BenchResult>
}

/** Median of a non-empty list. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** The p-th percentile (0..100) by nearest rank. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]!
}

export function formatNumber(value: number, digits = 1): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 })
}

/** Completed calls per second with `concurrency` loops running `call` back to back for `ms`. */
export async function callsPerSecond(call: () => Promise<unknown>, concurrency: number, ms: number): Promise<number> {
  let done = 0
  const started = performance.now()
  const deadline = started + ms
  const loop = async () => {
    while (performance.now() < deadline) {
      await call()
      done++
    }
  }
  await Promise.all(Array.from({ length: concurrency }, loop))
  return done / ((performance.now() - started) / 1000)
}
