// JSON over HTTP for the demo's three counterparts: Illumera's api, Align's API (the sandbox's /api/v1)
// and the sandbox's control API (/_sandbox). Every answer is checked against the status the step expects.
import { type Dispatcher, getGlobalDispatcher, request } from 'undici'

const CALL_TIMEOUT_MS = 15_000

export interface JsonAnswer {
  status: number
  body: unknown
  text: string
}

export interface CallOptions {
  token?: string
  body?: unknown
  headers?: Record<string, string>
}

export async function callJson(method: Dispatcher.HttpMethod, url: string, options: CallOptions = {}): Promise<JsonAnswer> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers }
  if (options.token) headers.authorization = `Bearer ${options.token}`
  let payload: string | undefined
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json'
    payload = JSON.stringify(options.body)
  }
  const res = await request(url, { method, headers, body: payload, headersTimeout: CALL_TIMEOUT_MS, bodyTimeout: CALL_TIMEOUT_MS })
  const text = await res.body.text()
  let body: unknown
  try {
    body = text ? JSON.parse(text) : undefined
  } catch {
    body = undefined
  }
  return { status: res.statusCode, body, text }
}

/** The message of an error answer, in the api's shape ({ message }) or Align's ({ error: { message } }). */
export function errorMessage(answer: JsonAnswer): string {
  const body = answer.body as { message?: unknown; error?: { message?: unknown } } | undefined
  const message = body?.message ?? body?.error?.message
  return typeof message === 'string' ? message : answer.text.slice(0, 300)
}

/** The body of an answer with the expected status; otherwise an error naming the call and what came back. */
export function expectStatus<T>(answer: JsonAnswer, expected: number, what: string): T {
  if (answer.status !== expected) throw new Error(`${what} answered ${answer.status} (expected ${expected}): ${errorMessage(answer)}`)
  return answer.body as T
}

/** True when GET url answers 2xx in time. */
export async function answersOk(url: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await request(url, { method: 'GET', headersTimeout: timeoutMs, bodyTimeout: timeoutMs })
    await res.body.dump()
    return res.statusCode >= 200 && res.statusCode < 300
  } catch {
    return false
  }
}

/**
 * Closes the demo's kept-alive connections (no more calls after it): a server asked to stop then has no
 * idle connection of ours to wait for.
 */
export async function closeConnections(): Promise<void> {
  await getGlobalDispatcher().destroy()
}
