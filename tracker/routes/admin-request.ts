/**
 * What an admin request to the identity and policy routes may be: admins only (checked
 * before anything is parsed), a capped JSON body, and names. A user, group, policy or
 * image name is 1–200 characters, no control characters, no "/" (names travel in URL
 * paths); anything else — quotes, semicolons, SQL keywords — is data, stored and returned
 * literally.
 */
import { z } from '@hono/zod-openapi'
import { bodyLimit } from 'hono/body-limit'
import type { MiddlewareHandler } from 'hono'
import { requireAdmin } from '../auth.ts'
import type { TrackerEnv } from '../env.ts'
import { MAX_ADMIN_JSON_BODY_BYTES, MAX_NAME_CHARS } from '../constants.ts'
import { HttpError, badRequest } from '../errors.ts'

// eslint-disable-next-line no-control-regex
const NAME_RE = /^[^\x00-\x1f\x7f/]+$/

export function nameSchema (what: string): z.ZodString {
  return z.string()
    .min(1, `${what} must not be empty`)
    .max(MAX_NAME_CHARS, `${what} must be at most ${MAX_NAME_CHARS} characters`)
    .regex(NAME_RE, `${what} must not contain "/" or control characters`)
}

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
    onError: () => { throw new HttpError(413, 'ERR_PAYLOAD_TOO_LARGE', `body larger than ${MAX_ADMIN_JSON_BODY_BYTES} bytes`, { headers: { connection: 'close' } }) }
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

/** Epoch ms → ISO 8601, null kept. */
export function iso (ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString()
}
