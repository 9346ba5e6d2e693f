// Runs the checklist one step after another and prints each as it ends: ✓ or ✗, its number and title,
// its measured time and what it showed. The first failure ends the run; later steps print as not run.

export interface Step {
  title: string
  /** Does the step and checks its outcome; returns one line of what it showed. Throws on failure. */
  run(): Promise<string>
}

export interface StepResult {
  title: string
  status: 'passed' | 'failed' | 'not run'
  ms: number
}

export interface Output {
  write(text: string): void
  color: boolean
}

const paint = (out: Output, code: string, text: string) => (out.color ? `\x1b[${code}m${text}\x1b[0m` : text)

export async function runChecklist(steps: Step[], out: Output): Promise<StepResult[]> {
  const width = Math.max(...steps.map((s) => s.title.length))
  const results: StepResult[] = []
  let failed = false
  for (const [index, step] of steps.entries()) {
    const number = `${String(index + 1).padStart(2)}.`
    if (failed) {
      out.write(` ${paint(out, '2', `-  ${number} ${step.title}   (not run)`)}\n`)
      results.push({ title: step.title, status: 'not run', ms: 0 })
      continue
    }
    const started = performance.now()
    try {
      const detail = await step.run()
      const ms = Math.round(performance.now() - started)
      out.write(` ${paint(out, '32', '✓')}  ${number} ${step.title.padEnd(width)}  ${String(ms).padStart(6)} ms   ${paint(out, '2', detail)}\n`)
      results.push({ title: step.title, status: 'passed', ms })
    } catch (err) {
      const ms = Math.round(performance.now() - started)
      const message = err instanceof Error ? err.message : String(err)
      out.write(` ${paint(out, '31', '✗')}  ${number} ${step.title.padEnd(width)}  ${String(ms).padStart(6)} ms\n`)
      out.write(`        ${paint(out, '31', message.split('\n').join('\n        '))}\n`)
      results.push({ title: step.title, status: 'failed', ms })
      failed = true
    }
  }
  return results
}

export function summaryLine(results: StepResult[], totalMs: number): string {
  const failed = results.findIndex((r) => r.status === 'failed')
  const seconds = (totalMs / 1000).toFixed(1)
  if (failed === -1) return `All ${results.length} steps passed in ${seconds} s.`
  const notRun = results.filter((r) => r.status === 'not run').length
  return `FAILED at step ${failed + 1} (${results[failed]!.title}) after ${seconds} s: ${failed} passed, 1 failed, ${notRun} not run.`
}

/**
 * Polls `check` until it returns a value (not undefined), at most `timeoutMs`. On timeout the error names
 * what was awaited and, from `diagnose`, what the system shows instead.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  diagnose?: () => Promise<string>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() >= deadline) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  let hint = ''
  if (diagnose) hint = `; ${await diagnose().catch((err: unknown) => `(no diagnosis: ${err instanceof Error ? err.message : String(err)})`)}`
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${hint}`)
}
