// Small HTTP helpers for the sandbox tests: a JSON client for the API and control routes, and a
// webhook receiver on 127.0.0.1:0 whose answers a test chooses.
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startAlignSandbox, type AlignSandbox, type StartAlignSandboxOptions } from '../../src/index.js'

export interface Response<T = any> {
  status: number
  headers: Headers
  body: T
}

export interface CallOptions {
  key?: string
  body?: unknown
  headers?: Record<string, string>
}

export async function call<T = any>(sandbox: AlignSandbox, method: string, path: string, options: CallOptions = {}): Promise<Response<T>> {
  const headers: Record<string, string> = { ...options.headers }
  if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  const base = path.startsWith('/_sandbox') || path === '/healthz' ? sandbox.url : sandbox.apiBaseUrl
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) } : {}),
  })
  const text = await response.text()
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined }
}

export async function startSandbox(options: StartAlignSandboxOptions = {}): Promise<AlignSandbox> {
  return startAlignSandbox({ port: 0, ...options })
}

/** An organization with a project, a user who is a member, and the org key. */
export async function seedOrg(sandbox: AlignSandbox, prefix = 'seed') {
  const { organizationId, apiKey } = await sandbox.control.createOrg()
  const project = (
    await call(sandbox, 'POST', '/projects', {
      key: apiKey,
      body: { name: `${prefix} project`, externalRef: { provider: 'illumera', externalType: 'project', externalId: `${prefix}-project` } },
    })
  ).body
  const invite = (
    await call(sandbox, 'POST', '/users/invite', {
      key: apiKey,
      body: { email: `${prefix}@example.com`, name: 'Alice', role: 'developer', externalRef: { provider: 'illumera', externalType: 'user', externalId: `${prefix}-user` } },
    })
  ).body
  await call(sandbox, 'POST', `/projects/${project.id}/members/${invite.userId}`, {
    key: apiKey,
    body: { roleOverride: 'developer', externalRef: { provider: 'illumera', externalType: 'project_member', externalId: `${prefix}-member` } },
  })
  return { organizationId, apiKey, projectId: project.id as string, userId: invite.userId as string }
}

export function entryBody(userId: string, minutes = 150, externalId?: string) {
  return {
    userId,
    workDate: '2025-01-15',
    minutes,
    description: 'Implemented authentication module',
    billable: true,
    ...(externalId ? { externalRef: { provider: 'illumera', externalType: 'time_entry', externalId } } : {}),
  }
}

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders
  rawBody: Buffer
  body: { organizationId: string; data: any }
  event: string
  deliveryId: string
}

/** A webhook receiver: `respond` picks the status for each request (default 200). */
export async function startReceiver(respond: (hook: ReceivedWebhook, index: number) => number | Promise<number> = () => 200) {
  const received: ReceivedWebhook[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', async () => {
      const rawBody = Buffer.concat(chunks)
      const hook: ReceivedWebhook = {
        headers: req.headers,
        rawBody,
        body: JSON.parse(rawBody.toString('utf8')),
        event: String(req.headers['x-align-event']),
        deliveryId: String(req.headers['x-align-delivery-id']),
      }
      received.push(hook)
      const status = await respond(hook, received.length - 1)
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/webhooks/align`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
