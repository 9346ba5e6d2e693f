// Tenant B's writer for the fairness bench on a worker thread of its own: in production the api commits a row
// (its transaction with the NOTIFY) from another process, so the writer's round trips must not wait on the
// event loop of the worker under test, which the backlog keeps busy. Each message is one row to commit; the
// reply says it committed. Started by startWriterThread() in sync-worker-support.ts; 'close' ends it.
import { parentPort, workerData } from 'node:worker_threads'
import { createDb, insertOutboxRow, type OutboxWrite } from '@illumera/db-schema'

const { url } = workerData as { url: string }
const db = createDb(url, { max: 1 })
parentPort!.on('message', (message: OutboxWrite | 'close') => {
  if (message === 'close') {
    void db.destroy().finally(() => parentPort!.close())
    return
  }
  db.transaction().execute((trx) => insertOutboxRow(trx, message)).then(
    () => parentPort!.postMessage({ ok: true }),
    (err: Error) => parentPort!.postMessage({ ok: false, error: err.message }),
  )
})
parentPort!.postMessage('ready')
