// createNaturalBatcher: items go out at once while a slot is free, wait and travel together while every slot is
// busy, and a failed batch is split only when its error says nothing was written. The batches here are plain
// functions the test completes by hand (the batcher's contract is about when and with what it calls run); the
// api's time entry tests run it on PostgreSQL.
import { describe, expect, it } from 'vitest'
import { createNaturalBatcher } from '../src/index.js'

/** A run() whose calls the test answers one by one. */
function heldRuns<I>() {
  const calls: Array<{ items: I[]; answer: (results?: unknown[]) => void; fail: (err: unknown) => void }> = []
  const run = (items: I[]) => new Promise<unknown[]>((resolve, reject) => {
    calls.push({ items, answer: (results) => resolve(results ?? items.map((item) => `done ${String(item)}`)), fail: reject })
  })
  return { calls, run }
}

const refused = Object.assign(new Error('refused'), { refused: true })
const isRefused = (err: unknown) => (err as { refused?: boolean }).refused === true
const settle = () => new Promise((r) => setImmediate(r))

describe('createNaturalBatcher', () => {
  it('sends an item at once, alone, while a slot is free', async () => {
    const { calls, run } = heldRuns<string>()
    const submit = createNaturalBatcher({ run, maxInFlight: 2, maxBatchSize: 10, splitOn: isRefused })
    const a = submit('a')
    const b = submit('b')
    expect(calls.map((c) => c.items)).toEqual([['a'], ['b']])
    calls[0]!.answer()
    calls[1]!.answer()
    expect(await Promise.all([a, b])).toEqual(['done a', 'done b'])
  })

  it('collects the items that arrive while every slot is busy and sends them together, in order, when a slot frees', async () => {
    const { calls, run } = heldRuns<string>()
    const submit = createNaturalBatcher({ run, maxInFlight: 1, maxBatchSize: 10, splitOn: isRefused })
    const first = submit('a')
    const waiting = ['b', 'c', 'd'].map(submit)
    expect(calls).toHaveLength(1)
    calls[0]!.answer()
    expect(await first).toBe('done a')
    await settle()
    expect(calls.map((c) => c.items)).toEqual([['a'], ['b', 'c', 'd']])
    calls[1]!.answer()
    expect(await Promise.all(waiting)).toEqual(['done b', 'done c', 'done d'])
  })

  it('sends at most maxBatchSize items per batch and keeps the rest for the next', async () => {
    const { calls, run } = heldRuns<number>()
    const submit = createNaturalBatcher({ run, maxInFlight: 1, maxBatchSize: 3, splitOn: isRefused })
    const all = [1, 2, 3, 4, 5, 6, 7].map(submit)
    calls[0]!.answer()
    await settle()
    calls[1]!.answer()
    await settle()
    calls[2]!.answer()
    await Promise.all(all)
    expect(calls.map((c) => c.items)).toEqual([[1], [2, 3, 4], [5, 6, 7]])
  })

  it('runs each item of a batch alone, one after another, when the batch fails with an error that says nothing was written', async () => {
    const { calls, run } = heldRuns<string>()
    const submit = createNaturalBatcher({ run, maxInFlight: 1, maxBatchSize: 10, splitOn: isRefused })
    const first = submit('a')
    const results = ['b', 'bad', 'c'].map((item) => submit(item).then((value) => ({ value }), (err: unknown) => ({ err })))
    calls[0]!.answer()
    await first
    await settle()
    calls[1]!.fail(refused)
    for (const [i, item] of ['b', 'bad', 'c'].entries()) {
      await settle()
      expect(calls).toHaveLength(3 + i) // one at a time, in the batch's own slot
      expect(calls[2 + i]!.items).toEqual([item])
      if (item === 'bad') calls[2 + i]!.fail(new Error('bad input'))
      else calls[2 + i]!.answer()
    }
    const settled = await Promise.all(results)
    expect(settled[0]).toEqual({ value: 'done b' })
    expect((settled[1] as { err: Error }).err.message).toBe('bad input')
    expect(settled[2]).toEqual({ value: 'done c' })
    // The slot was the batch's all along: an item that arrives now goes at once.
    const later = submit('d')
    expect(calls.at(-1)!.items).toEqual(['d'])
    calls.at(-1)!.answer()
    expect(await later).toBe('done d')
  })

  it('gives every caller the error, and runs nothing again, when a failure may have come after a commit', async () => {
    const { calls, run } = heldRuns<string>()
    const submit = createNaturalBatcher({ run, maxInFlight: 1, maxBatchSize: 10, splitOn: isRefused })
    const first = submit('a')
    const batch = ['b', 'c'].map((item) => submit(item).catch((err: Error) => err.message))
    calls[0]!.answer()
    await first
    await settle()
    calls[1]!.fail(new Error('connection terminated'))
    expect(await Promise.all(batch)).toEqual(['connection terminated', 'connection terminated'])
    expect(calls).toHaveLength(2)
  })

  it('refuses an answer that does not have one result per item', async () => {
    const { calls, run } = heldRuns<string>()
    const submit = createNaturalBatcher({ run, maxInFlight: 1, maxBatchSize: 10, splitOn: isRefused })
    const pending = submit('a')
    calls[0]!.answer([])
    await expect(pending).rejects.toThrow('run answered 0 results for 1 items')
  })

  it('refuses slot and batch sizes that are not positive integers', () => {
    const run = async (items: string[]) => items
    expect(() => createNaturalBatcher({ run, maxInFlight: 0, maxBatchSize: 10, splitOn: isRefused })).toThrow('maxInFlight')
    expect(() => createNaturalBatcher({ run, maxInFlight: 1, maxBatchSize: 1.5, splitOn: isRefused })).toThrow('maxBatchSize')
  })
})
