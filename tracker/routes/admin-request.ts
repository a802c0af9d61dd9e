/**
 * What an admin request to the identity and policy routes may be: admins only (checked
 * before anything is parsed) and a capped JSON body. The bodies' shapes are in
 * `protocol/api/` (`tokens.ts`, `policies.ts`).
 */
import { bodyLimit } from 'hono/body-limit'
import type { MiddlewareHandler } from 'hono'
import { requireAdmin } from '../auth.ts'
import type { TrackerEnv } from '../env.ts'
import { MAX_ADMIN_JSON_BODY_BYTES } from '../constants.ts'
import { badRequest, payloadTooLarge } from '../errors.ts'
import { errorResponse } from './router.ts'

/** The error answers every admin route documents. */
export const ADMIN_ERRORS = { 400: errorResponse('malformed request'), 401: errorResponse('no valid token'), 403: errorResponse('not an admin') }

const JSON_MEDIA = /^application\/([\w.-]+\+)?json$/i

/**
 * Admins only, decided before any validation: a user learns nothing about a body's schema
 * and gets 403 whatever it sends. (Handlers still call `requireAdmin` for the principal.)
 */
export const adminOnly: MiddlewareHandler<TrackerEnv> = async function adminOnly (c, next) {
  requireAdmin(c)
  await next()
}

/**
 * Admins only (first), then caps a JSON body before it is read and parses it once so
 * malformed JSON is a 400 with a code (the schema validator reuses the parsed body).
 */
export function adminJsonBody (): [MiddlewareHandler<TrackerEnv>, MiddlewareHandler, MiddlewareHandler] {
  const limit = bodyLimit({
    maxSize: MAX_ADMIN_JSON_BODY_BYTES,
    // The unread rest of the body makes the socket unusable: tell the client not to reuse it.
    onError: () => { throw payloadTooLarge(`body larger than ${MAX_ADMIN_JSON_BODY_BYTES} bytes`) }
  })
  const parse: MiddlewareHandler = async function parseJsonBody (c, next) {
    const mediaType = (c.req.header('content-type') ?? '').split(';')[0]!.trim()
    if (JSON_MEDIA.test(mediaType)) {
      try {
        await c.req.json()
      } catch (err) {
        throw badRequest('body: malformed JSON')
      }
    }
    await next()
  }
  return [adminOnly, limit, parse]
}
