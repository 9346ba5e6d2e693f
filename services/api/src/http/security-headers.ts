// Security headers: helmet's, computed once per configuration. @fastify/helmet built helmet's middleware on
// every request (parsing its Content-Security-Policy each time) and set each header on the raw response; the
// headers of a static configuration never change, so they are worked out when the plugin (the defaults) or a
// route (its own `config.securityHeaders`, as the admin dashboard's stricter CSP) is registered, and each
// request copies the list onto the reply. Through reply.header, Node takes them in one writeHead.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import helmet, { type HelmetOptions } from 'helmet'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** helmet options for this route instead of the app's (static values only). */
    securityHeaders?: HelmetOptions
    /** Set by the plugin: the headers the route's options give. */
    securityHeaderList?: ReadonlyArray<readonly [name: string, value: string]>
  }
}

/** The headers helmet sets with these options, lower-cased. Dynamic (function) CSP values are refused: they need the request. */
export function securityHeadersOf(options: HelmetOptions): Array<[string, string]> {
  const directives = typeof options.contentSecurityPolicy === 'object' ? options.contentSecurityPolicy.directives ?? {} : {}
  for (const [name, value] of Object.entries(directives)) {
    const values: unknown[] = Array.isArray(value) ? value : [value]
    if (values.some((v) => typeof v === 'function')) throw new Error(`security headers: CSP directive ${name} is a function; only static values are supported`)
  }
  const headers: Array<[string, string]> = []
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers.push([name.toLowerCase(), Array.isArray(value) ? value.join(', ') : String(value)])
    },
    removeHeader() {}, // X-Powered-By: Fastify never sets it
  }
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => {
    if (err) throw err
  })
  return headers
}

/**
 * The api's own headers: it answers JSON, which nothing may load, run or frame (OWASP REST Security Cheat Sheet).
 * Stricter than helmet's defaults, which are written for HTML pages (`default-src 'self'`, framing by the same
 * origin), and without the headers only an HTML page or an old browser plug-in reads (Cross-Origin-Opener-Policy,
 * Origin-Agent-Cluster, X-DNS-Prefetch-Control, X-Download-Options, X-Permitted-Cross-Domain-Policies,
 * X-XSS-Protection): shorter on every answer. HTML routes set their own (the admin dashboard's strict CSP).
 */
export const API_SECURITY_HEADERS: HelmetOptions = {
  contentSecurityPolicy: { useDefaults: false, directives: { 'default-src': ["'none'"], 'frame-ancestors': ["'none'"] } },
  xFrameOptions: { action: 'deny' },
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
}

export const securityHeaders = fp<{ defaults?: HelmetOptions }>(
  async (app: FastifyInstance, { defaults = {} }) => {
    const defaultList = securityHeadersOf(defaults)
    app.addHook('onRoute', (route) => {
      const own = route.config?.securityHeaders
      if (own) route.config = { ...route.config, securityHeaderList: securityHeadersOf(own) }
    })
    app.addHook('onRequest', (request, reply, done) => {
      for (const [name, value] of request.routeOptions.config.securityHeaderList ?? defaultList) reply.header(name, value)
      done()
    })
  },
  { name: 'security-headers' },
)
