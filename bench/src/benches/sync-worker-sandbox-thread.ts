// The Align sandbox on a worker thread of its own: its own event loop, as Align is a remote service in
// production, so the worker under test does not also run Align's side of every call on its loop. The bench
// reaches it over HTTP only (the API, and the control API under /_sandbox). Started by startSandboxThread()
// in sync-worker-support.ts; a message closes it.
import { parentPort, workerData } from 'node:worker_threads'
import { startAlignSandbox } from '@illumera/align-sandbox'

const { rateLimitPerMinute } = workerData as { rateLimitPerMinute: number }
const sandbox = await startAlignSandbox({ port: 0, rateLimitPerMinute })
parentPort!.postMessage({ url: sandbox.url, apiBaseUrl: sandbox.apiBaseUrl })
parentPort!.once('message', () => {
  void sandbox.close().finally(() => parentPort!.close())
})
