// Align sends money as decimal strings ("31000.00"). They become integer cents through string arithmetic
// and BigInt, never through floating point: round(amount × 100), halves away from zero.
export class MoneyFormatError extends Error {
  override name = 'MoneyFormatError'
}

export function decimalToCents(amount: string): bigint {
  const match = /^(-)?(\d+)(?:\.(\d+))?$/.exec(amount.trim())
  if (!match) throw new MoneyFormatError(`not a decimal amount: ${JSON.stringify(amount.slice(0, 40))}`)
  const [, minus, whole, fraction = ''] = match
  const padded = fraction.padEnd(3, '0')
  let cents = BigInt(whole!) * 100n + BigInt(padded.slice(0, 2))
  if (Number(padded[2]) >= 5) cents += 1n
  return minus && cents !== 0n ? -cents : cents
}

export function absDiff(a: bigint, b: bigint): bigint {
  return a > b ? a - b : b - a
}
