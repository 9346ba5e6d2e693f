// Natural batching for a hot statement: at most `maxInFlight` batches run at once; an item that arrives while
// all of them are busy waits, and everything waiting when a batch finishes goes out together in the next one
// (up to `maxBatchSize`). No timer and no added wait: under light load every item goes out at once, alone;
// under load the items that would have queued for a database connection anyway share one round trip, one
// plan execution and one commit (Martin Thompson's "smart batching").
//
// A batch is all-or-nothing for the caller's `run` (one statement, one transaction). When it fails with an
// error that says nothing was written (`splitOn`: a statement refused by the database, say), each of its
// items runs again alone, so one bad item fails only its own caller. Any other error (a connection lost
// mid-commit, when the batch may have committed) goes to every caller of the batch as it is: running again
// could write twice.

export interface NaturalBatcherOptions<I, O> {
  /** Runs one batch; answers one result per item, in the items' order. */
  run: (items: I[]) => Promise<O[]>
  /** Batches running at once (at most the database pool's size: more would only wait for a connection). */
  maxInFlight: number
  /** Items in one batch at most. */
  maxBatchSize: number
  /** True when a failed batch certainly wrote nothing, so its items may run again one by one. */
  splitOn: (err: unknown) => boolean
}

export type NaturalBatcher<I, O> = (item: I) => Promise<O>

interface Waiting<I, O> {
  item: I
  resolve: (result: O) => void
  reject: (err: unknown) => void
}

export function createNaturalBatcher<I, O>(options: NaturalBatcherOptions<I, O>): NaturalBatcher<I, O> {
  const { run, splitOn } = options
  if (!Number.isInteger(options.maxInFlight) || options.maxInFlight < 1) throw new Error('createNaturalBatcher: maxInFlight must be a positive integer')
  if (!Number.isInteger(options.maxBatchSize) || options.maxBatchSize < 1) throw new Error('createNaturalBatcher: maxBatchSize must be a positive integer')
  const waiting: Array<Waiting<I, O>> = []
  let inFlight = 0

  async function runBatch(batch: Array<Waiting<I, O>>): Promise<void> {
    try {
      const results = await run(batch.map((w) => w.item))
      if (results.length !== batch.length) throw new Error(`natural batcher: run answered ${results.length} results for ${batch.length} items`)
      batch.forEach((w, i) => w.resolve(results[i]!))
    } catch (err) {
      if (batch.length > 1 && splitOn(err)) {
        // One after another, in this batch's slot: a rare path, and it never takes more connections than a batch.
        for (const w of batch) await runBatch([w])
      } else {
        for (const w of batch) w.reject(err)
      }
    }
  }

  function pump(): void {
    while (inFlight < options.maxInFlight && waiting.length > 0) {
      const batch = waiting.splice(0, options.maxBatchSize)
      inFlight++
      void runBatch(batch).finally(() => {
        inFlight--
        pump()
      })
    }
  }

  return (item) => new Promise<O>((resolve, reject) => {
    waiting.push({ item, resolve, reject })
    pump()
  })
}
