/**
 * The console's door: `/console/login` → the provider (code + PKCE) → `/console/callback`
 * → session cookie, and `/console/logout` (the flow itself is `oidc/console-login.ts`);
 * the console's pages (`/console`, `/console/images`, …: one shell, the front end in
 * `console/app/` draws the page) and its bundled assets. Every answer carries a content
 * security policy without inline scripts or styles. The pages are for admins: a signed-in
 * user who is not one gets a page saying so, and every API call they make is refused by
 * the API itself. Also `GET /auth/config`: how `branchcast login` finds the issuer and its client.
 */
import { Hono } from 'hono'
import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { AuthConfigSchema } from '../../protocol/index.ts'
import { clearSessionCookie, consoleSessions, secureCookies, setSessionCookie } from '../auth.ts'
import type { Principal, TrackerComponents, TrackerEnv } from '../env.ts'
import { LOGIN_COOKIE, SESSION_COOKIE } from '../oidc/index.ts'
import { escapeHtml } from '../oidc/pages.ts'
import { consoleAssets } from './console-assets.ts'

/** The console's pages (the front end routes among them without reloading). */
export const CONSOLE_PAGES = ['', 'images', 'policies', 'clients', 'reports', 'planner'] as const

function securityHeaders (c: Context, formAction: string): void {
  c.header('content-security-policy', `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`)
  c.header('x-frame-options', 'DENY')
  c.header('x-content-type-options', 'nosniff')
  c.header('referrer-policy', 'same-origin')
  c.header('cache-control', 'no-store')
}

const HEAD = '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">' +
  '<link rel="icon" href="data:,"><link rel="stylesheet" href="/console/assets/main.css">'

const signOut = '<form class="signout" method="post" action="/console/logout"><button type="submit">Sign out</button></form>'

function who (p: Principal): string {
  return `<span class="who">Signed in as <strong>${escapeHtml(p.user)}</strong> (${escapeHtml(p.role)}${p.groups.length === 0 ? '' : `; groups: ${escapeHtml(p.groups.join(', '))}`})</span>`
}

/** A page without the front end: sign in, or not an admin. */
function plainPage (title: string, header: string, body: string): string {
  return `${HEAD}<title>${escapeHtml(title)} · Branchcast</title></head><body><header class="top"><a class="brand" href="/console">Branchcast</a>${header}</header>` +
    `<main class="plain"><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`
}

/** The shell the front end draws into; who is signed in and their role are in `data-` attributes, not script. */
function shell (p: Principal): string {
  return `${HEAD}<title>Branchcast console</title><script type="module" src="/console/assets/main.js"></script></head>` +
    `<body data-user="${escapeHtml(p.user)}" data-role="${escapeHtml(p.role)}"><header class="top"><a class="brand" href="/console">Branchcast</a>${who(p)}${signOut}</header>` +
    '<div id="app"><p class="loading">Loading the console…</p></div><noscript><p>The console needs JavaScript. The API is under <code>/api/v1</code> and the <code>branchcast</code> CLI does everything too.</p></noscript></body></html>'
}

export function consoleRoutes (components: Pick<TrackerComponents, 'oidc' | 'now' | 'config' | 'logger'>): Hono<TrackerEnv> {
  const { oidc, now } = components
  const sessions = consoleSessions(components)
  const assets = consoleAssets(components.logger)
  const app = new Hono<TrackerEnv>()
  /** logout posts here and is redirected to the provider's end-session page */
  let formAction: string | undefined
  const formActions = (): string => {
    if (formAction === undefined) {
      try {
        const issuer = new URL(oidc.authConfig().issuer).origin
        formAction = `'self' ${issuer}`
      } catch {
        return "'self'" // the provider is not started yet: ask again next time
      }
    }
    return formAction
  }

  app.get('/assets/:file{[a-z0-9-]+\\.(js|css)}', async (c) => {
    const asset = await assets.get(c.req.param('file'))
    if (asset === undefined) return c.json({ error: { code: 'ERR_NOT_FOUND', message: 'no such asset' } }, 404)
    c.header('x-content-type-options', 'nosniff')
    c.header('cache-control', 'no-cache')
    c.header('etag', asset.etag)
    if (c.req.header('if-none-match') === asset.etag) return c.body(null, 304)
    c.header('content-type', asset.type)
    c.header('vary', 'accept-encoding')
    if (/\bgzip\b/.test(c.req.header('accept-encoding') ?? '')) {
      c.header('content-encoding', 'gzip')
      return c.body(asset.gzip as Uint8Array<ArrayBuffer>, 200)
    }
    return c.body(asset.body as Uint8Array<ArrayBuffer>, 200)
  })

  for (const name of CONSOLE_PAGES) {
    app.get(name === '' ? '/' : `/${name}`, async (c) => {
      securityHeaders(c, formActions())
      const p = await sessions.principal(c).catch(() => undefined)
      if (p === undefined) {
        return c.html(plainPage('Sign in', '', '<p>The Branchcast console is for administrators.</p><p><a class="button" href="/console/login">Sign in</a></p>'))
      }
      if (!p.admin) {
        return c.html(plainPage('Administrators only', who(p) + signOut,
          '<p role="alert">This console is for Branchcast administrators, and your account is not one.</p>' +
          '<p>Your workspaces come to your desk through the Branchcast client. If you need admin access, ask an administrator to give your account an admin role.</p>'), 403)
      }
      assets.warm()
      return c.html(shell(p))
    })
  }

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

  app.get('/logout', (c) => {
    securityHeaders(c, formActions())
    return c.html(plainPage('Sign out', '', signOut))
  })
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
