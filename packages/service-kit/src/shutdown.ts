/** Resolves with the first of the given signals; main.ts awaits it, then closes what it opened. */
export function waitForSignal(...signals: NodeJS.Signals[]): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handler = (signal: NodeJS.Signals) => {
      for (const s of signals) process.off(s, handler)
      resolve(signal)
    }
    for (const s of signals) process.on(s, handler)
  })
}
