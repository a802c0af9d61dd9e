/**
 * What a user, group, policy or image name may be, for every identity and policy route:
 * 1–200 characters, no control characters, no "/" (names travel in URL paths). Anything
 * else — quotes, semicolons, SQL keywords — is data, stored and returned literally.
 */
import { z } from '@hono/zod-openapi'
import { bodyLimit } from 'hono/body-limit'
import type { MiddlewareHandler } from 'hono'
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
 * Caps a JSON body before it is read, then parses it once so malformed JSON is a 400 with
 * a code (the schema validator reuses the parsed body).
 */
export function adminJsonBody (): [MiddlewareHandler, MiddlewareHandler] {
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
  return [limit, parse]
}

/** Epoch ms → ISO 8601, null kept. */
export function iso (ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString()
}
