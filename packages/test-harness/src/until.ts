// A bounded poll for tests that wait on another process, a listener or a background loop: it checks every
// `intervalMs` and fails naming what it waited for (and, with `detail`, what the other side said) instead of
// hanging the run.

export interface UntilOptions {
  /** Give up after this long. Default 5 s. */
  limitMs?: number
  /** Check this often. Default 25 ms. */
  intervalMs?: number
  /** Appended to the timeout message, e.g. a child process's recent output. */
  detail?: () => string
}

export async function until(check: () => Promise<boolean> | boolean, what: string, options: UntilOptions = {}): Promise<void> {
  const { limitMs = 5_000, intervalMs = 25, detail } = options
  for (const deadline = Date.now() + limitMs; Date.now() < deadline;) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
  throw new Error(`timed out after ${limitMs} ms waiting for ${what}${detail ? `; ${detail()}` : ''}`)
}
