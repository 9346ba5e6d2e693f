// GET /admin: the platform admins' sync dashboard (a static page, its script and stylesheet). The page
// holds no data, so it needs no token; the script reads the platform_admin JSON routes with the token the
// admin pastes. Its CSP allows only this origin's script, style and fetches, and requires Trusted Types,
// so even a slip into an HTML string sink could not run what an Align error message smuggles in.
import type { FastifyPluginAsync } from 'fastify'
import type { HelmetOptions } from 'helmet'
import { DASHBOARD_JS } from './client-js.js'
import { DASHBOARD_HTML, DASHBOARD_ICON_SVG } from './page-html.js'
import { DASHBOARD_CSS } from './styles-css.js'

export const DASHBOARD_CSP_DIRECTIVES = {
  'default-src': ["'none'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'connect-src': ["'self'"],
  'img-src': ["'self'"],
  'base-uri': ["'none'"],
  // The sign-in form is handled by the script; with no script, nothing may post the token anywhere.
  'form-action': ["'none'"],
  'frame-ancestors': ["'none'"],
  'require-trusted-types-for': ["'script'"],
  'trusted-types': ["'none'"],
}

const securityHeaders: HelmetOptions = {
  contentSecurityPolicy: { useDefaults: false, directives: DASHBOARD_CSP_DIRECTIVES },
}

const ASSETS = [
  { path: '/', type: 'text/html; charset=utf-8', body: DASHBOARD_HTML, cache: 'no-store' },
  { path: '/app.js', type: 'text/javascript; charset=utf-8', body: DASHBOARD_JS, cache: 'no-cache' },
  { path: '/app.css', type: 'text/css; charset=utf-8', body: DASHBOARD_CSS, cache: 'no-cache' },
  { path: '/icon.svg', type: 'image/svg+xml', body: DASHBOARD_ICON_SVG, cache: 'no-cache' },
] as const

export const adminDashboardRoutes: FastifyPluginAsync = async (app) => {
  for (const asset of ASSETS) {
    app.get(asset.path, { config: { securityHeaders }, schema: { hide: true } }, async (_request, reply) =>
      reply.type(asset.type).header('cache-control', asset.cache).send(asset.body))
  }
}
