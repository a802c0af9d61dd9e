/**
 * The console's door: `/console` (a placeholder page until the console lands, showing who
 * is logged in), `/console/login` → the provider (code + PKCE) → `/console/callback` →
 * session cookie, and `/console/logout`. The flow itself is `oidc/console-login.ts`; this
 * only moves cookies and redirects. Also `GET /auth/config`: how `branchcast login` finds
 * the issuer and its client.
 */
import { Hono } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { AuthConfigSchema } from '../../protocol/index.ts'
import { clearSessionCookie, consoleSessions, secureCookies, setSessionCookie } from '../auth.ts'
import type { TrackerComponents, TrackerEnv } from '../env.ts'
import { LOGIN_COOKIE, SESSION_COOKIE } from '../oidc/index.ts'
import { escapeHtml, page } from '../oidc/pages.ts'

const LINKS = '<p>The API is under <code>/api/v1</code> (described at <code>/api/v1/openapi.json</code>, token required); health at <code>/healthz</code>, metrics at <code>/metrics</code>.</p>'

export function consoleRoutes (components: Pick<TrackerComponents, 'oidc' | 'now' | 'config'>): Hono<TrackerEnv> {
  const { oidc, now } = components
  const sessions = consoleSessions(components)
  const app = new Hono<TrackerEnv>()

  app.get('/', async (c) => {
    c.header('cache-control', 'no-store')
    const p = await sessions.principal(c).catch(() => undefined)
    if (p === undefined) {
      return c.html(page('Branchcast', `<p>The web console is not built yet.</p><p><a href="/console/login">Sign in</a></p>${LINKS}`))
    }
    return c.html(page('Branchcast', `<p>Signed in as <strong>${escapeHtml(p.user)}</strong> (${escapeHtml(p.role)}${p.groups.length === 0 ? '' : `; groups: ${escapeHtml(p.groups.join(', '))}`}).</p>` +
      '<p>The web console is not built yet.</p><form method="post" action="/console/logout"><button type="submit">Sign out</button></form>' + LINKS))
  })

  app.get('/login', async (c) => {
    const { url, cookie, maxAgeSeconds } = await oidc.console.begin()
    setCookie(c, LOGIN_COOKIE, cookie, { path: '/console', httpOnly: true, sameSite: 'Lax', secure: secureCookies(components.config), maxAge: maxAgeSeconds })
    c.header('cache-control', 'no-store')
    return c.redirect(url.href, 302)
  })

  app.get('/callback', async (c) => {
    const login = getCookie(c, LOGIN_COOKIE)
    deleteCookie(c, LOGIN_COOKIE, { path: '/console' })
    // the redirect URI as registered (the public URL: behind a proxy c.req.url differs) + the provider's answer
    const callback = new URL(`${(components.config.publicUrl ?? '').replace(/\/+$/, '')}/console/callback${new URL(c.req.url).search}`)
    const { cookie, expiresAtMs } = await oidc.console.finish(callback, login)
    setSessionCookie(c, cookie, expiresAtMs, now(), secureCookies(components.config))
    c.header('cache-control', 'no-store')
    return c.redirect('/console', 302)
  })

  app.get('/logout', (c) => c.html(page('Sign out', '<form method="post" action="/console/logout"><button type="submit">Sign out</button></form>')))
  // POST only: SameSite=Lax keeps the cookie off cross-site posts, so nobody logs you out from elsewhere
  app.post('/logout', async (c) => {
    const url = await oidc.console.logout(getCookie(c, SESSION_COOKIE))
    clearSessionCookie(c)
    return c.redirect(url.href, 303)
  })

  return app
}

/** `GET /auth/config` (open): issuer, audience and clients, for `branchcast login`. */
export function authConfigRoutes (components: Pick<TrackerComponents, 'oidc'>): Hono<TrackerEnv> {
  const app = new Hono<TrackerEnv>()
  app.get('/auth/config', (c) => c.json(AuthConfigSchema.parse(components.oidc.authConfig())))
  return app
}
