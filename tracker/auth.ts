/**
 * The HTTP side of identity: `Authorization: Bearer …` → a principal on the context, or
 * 401. The identity service (`identity/`) decides what a token stands for; this only
 * reads the header and asks it.
 */
import type { Context, MiddlewareHandler } from 'hono'
import type { Principal, TrackerComponents, TrackerEnv } from './env.ts'
import { forbidden, unauthenticated } from './errors.ts'

export function bearer (header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
  return m?.[1]
}

/** Every route behind this answers 401 without a valid, unrevoked, unexpired API token. */
export function authenticate (components: Pick<TrackerComponents, 'identity'>): MiddlewareHandler<TrackerEnv> {
  const { identity } = components
  return async function authenticateMiddleware (c, next) {
    const token = bearer(c.req.header('authorization'))
    if (token === undefined) throw unauthenticated()
    const principal = await identity.authenticate(token)
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
