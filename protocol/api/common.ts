/**
 * Shapes every API area shares: the error body, names, and image names. Plain zod, so
 * the node and the CLIs parse answers with the same schemas the tracker's routes
 * validate and document (`.meta({ id })` names a schema in the OpenAPI document).
 */
import { z } from 'zod'
import { IMAGE_NAME_RE, MAX_IMAGE_NAME_BYTES } from '../manifest/manifest.ts'

/** User, group and policy names: identifiers, not documents (the store caps them at 200 too). */
export const MAX_NAME_CHARS = 200

/** Every non-2xx answer of the API. `code` is stable; `message` is for people. */
export const ErrorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string() })
}).meta({ id: 'Error' })
export type ErrorBody = z.infer<typeof ErrorBodySchema>

// eslint-disable-next-line no-control-regex
const NAME_RE = /^[^\x00-\x1f\x7f/]+$/

/**
 * A user, group or policy name: 1–200 characters, no control characters, no "/" (names
 * travel in URL paths); anything else — quotes, semicolons, SQL keywords — is data,
 * stored and returned literally.
 */
export function nameSchema (what: string): z.ZodString {
  return z.string()
    .min(1, `${what} must not be empty`)
    .max(MAX_NAME_CHARS, `${what} must be at most ${MAX_NAME_CHARS} characters`)
    .regex(NAME_RE, `${what} must not contain "/" or control characters`)
}

/**
 * An image name, the same rule everywhere it is accepted (routes, policies, the node's
 * control API): what a manifest may carry, so a name accepted here can always be signed.
 */
export const ImageNameSchema = z.string()
  .min(1, 'image name must not be empty')
  .refine((s) => Buffer.byteLength(s) <= MAX_IMAGE_NAME_BYTES, `image names are at most ${MAX_IMAGE_NAME_BYTES} bytes`)
  .regex(IMAGE_NAME_RE, 'image names are letters, digits and . _ + - (not first)')

/** Epoch ms → the ISO 8601 text API answers carry (`createdAt`, `expiresAt`, …); null (never) stays null. */
export function isoTime (ms: number): string
export function isoTime (ms: number | null): string | null
export function isoTime (ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString()
}
