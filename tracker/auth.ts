/**
 * API tokens: `bct_` + 32 random bytes (base64url). Only the SHA-256 of a token is stored;
 * the middleware resolves `Authorization: Bearer …` to a principal or answers 401.
 */
import { createHash, randomBytes } from 'node:crypto'
import type { Context, MiddlewareHandler } from 'hono'
import type { Principal, TrackerComponents, TrackerEnv } from './env.ts'
import { forbidden, unauthenticated } from './errors.ts'
import { TOKEN_USE_WRITE_INTERVAL_MS } from './constants.ts'

export const API_TOKEN_PREFIX = 'bct_'
const API_TOKEN_RE = /^bct_[A-Za-z0-9_-]{43}$/

export function generateApiToken (): string {
  return API_TOKEN_PREFIX + randomBytes(32).toString('base64url')
}

export function hashApiToken (token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

export function isApiTokenShape (token: string): boolean {
  return API_TOKEN_RE.test(token)
}

/** Resolve a bearer token to a principal; undefined when unknown, revoked or expired. */
export async function principalForToken (components: Pick<TrackerComponents, 'store' | 'now'>, token: string): Promise<Principal | undefined> {
  if (!isApiTokenShape(token)) return undefined
  const nowMs = components.now()
  const row = await components.store.findActiveToken(hashApiToken(token), nowMs)
  if (row === undefined) return undefined
  // `last used` for admins' listings, written at most once a minute per token (read from
  // the row itself, so every tracker process on one database shares the throttle). A
  // failed write must not fail the request it rode on.
  if (row.lastUsedAtMs === null || nowMs - row.lastUsedAtMs >= TOKEN_USE_WRITE_INTERVAL_MS) {
    await components.store.markTokenUsed(row.id, nowMs).catch(() => {})
  }
  return { tokenId: row.id, user: row.user, groups: row.groups, admin: row.isAdmin, kind: row.kind }
}

export function bearer (header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
  return m?.[1]
}

/** Every route behind this answers 401 without a valid, unrevoked, unexpired API token. */
export function authenticate (components: Pick<TrackerComponents, 'store' | 'now'>): MiddlewareHandler<TrackerEnv> {
  return async function authenticateMiddleware (c, next) {
    const token = bearer(c.req.header('authorization'))
    if (token === undefined) throw unauthenticated()
    const principal = await principalForToken(components, token)
    if (principal === undefined) throw unauthenticated('invalid, revoked or expired token')
    c.set('principal', principal)
    await next()
  }
}

export function requireAdmin (c: Context<TrackerEnv>): Principal {
  const p = c.get('principal')
  if (!p.admin) throw forbidden('admin only')
  return p
}
