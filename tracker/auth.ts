/**
 * The HTTP side of identity: `Authorization: Bearer …` (an API token or an OpenID Connect
 * access token) or the console's session cookie → a principal on the context, or 401. The
 * identity service decides what a token stands for, the console's sessions what a cookie
 * does; this reads the request, asks them, and applies the two rules every route shares:
 * a read-only admin writes nothing, and a cookie-authenticated write needs the CSRF header.
 */
import type { Context, MiddlewareHandler } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import type { Principal, TrackerComponents, TrackerEnv } from './env.ts'
import { forbidden, unauthenticated } from './errors.ts'
import { SESSION_COOKIE } from './oidc/index.ts'

/** Methods that change nothing: everything else is a write. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * The console sends this header (any value) on every write it makes with its session
 * cookie. A cross-site form cannot set a custom header, and a cross-site `fetch` that sets
 * one needs a CORS preflight we never grant; with SameSite=Lax cookies that is the CSRF defence.
 */
export const CSRF_HEADER = 'x-branchcast-csrf'

export function bearer (header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
  return m?.[1]
}

/** Resolves the console's session cookie, if any (the tracker's `oidc` component). */
export interface SessionResolver {
  /** The principal of the request's session cookie (refreshing it when due), or undefined. */
  principal: (c: Context<TrackerEnv>) => Promise<Principal | undefined>
}

/**
 * Cookies are `Secure` when browsers reach the tracker over https: judged by its public
 * URL, since behind a TLS-terminating proxy the request itself arrives as http.
 */
export function secureCookies (config: TrackerComponents['config']): boolean {
  return (config.publicUrl ?? '').startsWith('https:')
}

/** The console session cookie: HttpOnly, SameSite=Lax, Secure behind https, gone at the session's end. */
export function setSessionCookie (c: Context, value: string, expiresAtMs: number, nowMs: number, secure: boolean): void {
  setCookie(c, SESSION_COOKIE, value, { path: '/', httpOnly: true, sameSite: 'Lax', secure, maxAge: Math.max(0, Math.floor((expiresAtMs - nowMs) / 1000)) })
}

export function clearSessionCookie (c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/' })
}

/** Sessions from the console's cookie, renewed in place when their tokens were refreshed. */
export function consoleSessions (components: Pick<TrackerComponents, 'oidc' | 'now' | 'config'>): SessionResolver {
  return {
    async principal (c) {
      const cookie = getCookie(c, SESSION_COOKIE)
      if (cookie === undefined) return undefined
      const resumed = await components.oidc.console.resume(cookie)
      if (resumed === undefined) { clearSessionCookie(c); return undefined }
      if (resumed.renewed !== undefined) setSessionCookie(c, resumed.renewed.cookie, resumed.renewed.expiresAtMs, components.now(), secureCookies(components.config))
      return resumed.principal
    }
  }
}

/**
 * Refuses what no role may do with this method: a read-only admin writing anything. The
 * one place that rule lives — applied to every authenticated request by `authenticate`, so
 * a new write route is covered without declaring anything; `requireAdmin` checks it again.
 */
export function refuseReadOnlyWrite (method: string, principal: Principal): void {
  if (principal.role === 'read-only-admin' && !SAFE_METHODS.has(method.toUpperCase())) throw forbidden('read-only admin')
}

/**
 * Every route behind this answers 401 without a valid API token, access token or console
 * session, and 403 to a read-only admin's write.
 */
export function authenticate (components: Pick<TrackerComponents, 'identity' | 'oidc' | 'now' | 'config'>): MiddlewareHandler<TrackerEnv> {
  const { identity } = components
  const sessions = consoleSessions(components)
  return async function authenticateMiddleware (c, next) {
    const token = bearer(c.req.header('authorization'))
    let principal: Principal | undefined
    if (token !== undefined) {
      principal = await identity.authenticate(token)
      if (principal === undefined) throw unauthenticated('invalid, revoked or expired token')
    } else {
      principal = await sessions.principal(c)
      if (principal === undefined) throw unauthenticated()
      if (!SAFE_METHODS.has(c.req.method) && c.req.header(CSRF_HEADER) === undefined) throw forbidden(`a write with the session cookie needs the ${CSRF_HEADER} header`)
    }
    refuseReadOnlyWrite(c.req.method, principal)
    c.set('principal', principal)
    await next()
  }
}

/** Admins only: both roles read; a read-only admin's write is refused (403 `read-only admin`). */
export function requireAdmin (c: Context<TrackerEnv>): Principal {
  const p = c.get('principal')
  if (!p.admin) throw forbidden('admin only')
  refuseReadOnlyWrite(c.req.method, p)
  return p
}
