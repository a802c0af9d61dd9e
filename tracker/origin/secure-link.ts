/**
 * Signed URLs for a static origin (nginx's stock `secure_link` module, or an IIS rewrite
 * rule doing the same arithmetic). The signature covers expiry, client and image — not
 * the chunk's path — so one signature serves every chunk of the image to that client
 * until it expires:
 *
 *     s = base64url(md5("<e> <c> <i> <secret>")), unpadded
 *
 * where `e` is the expiry in Unix seconds and `c`, `i` are the query values exactly as
 * they appear in the URL (percent-encoded; they never contain a space, so the fields
 * cannot slide into each other). nginx checks it with
 * `secure_link $arg_s,$arg_e; secure_link_md5 "$secure_link_expires $arg_c $arg_i <secret>";`.
 *
 * MD5 is what `secure_link` offers; what it protects is an expiring permission, not data
 * integrity (every chunk is verified against its SHA-256 id by the client anyway).
 */
import { createHash } from 'node:crypto'

export interface OriginLinkInput {
  /** `keys.originLinkSecret` */
  secret: string
  clientId: string
  image: string
  /** expiry, Unix seconds */
  expiresAtSec: number
}

/** Query parameters of a signed origin URL: `e` expiry, `c` client, `i` image, `s` signature. */
export interface OriginLinkQuery {
  e: string
  c: string
  i: string
  s: string
  [key: string]: string
}

/** The signature nginx recomputes, over the URL-encoded values. */
export function originLinkSignature (secret: string, e: string, encodedClient: string, encodedImage: string): string {
  return createHash('md5').update(`${e} ${encodedClient} ${encodedImage} ${secret}`).digest('base64url')
}

/**
 * The query for a signed origin URL. `c` and `i` are returned decoded (as
 * `URLSearchParams` takes them); the signature is over their `encodeURIComponent` form,
 * which is what `URLSearchParams` writes for the characters client ids and image names use.
 */
export function signOriginLink (input: OriginLinkInput): OriginLinkQuery {
  if (typeof input.secret !== 'string' || input.secret.length < 16) throw new TypeError('origin link secret must be at least 16 characters')
  if (!Number.isSafeInteger(input.expiresAtSec) || input.expiresAtSec <= 0) throw new TypeError('expiresAtSec must be a positive integer')
  const e = String(input.expiresAtSec)
  const s = originLinkSignature(input.secret, e, encodeURIComponent(input.clientId), encodeURIComponent(input.image))
  return { e, c: input.clientId, i: input.image, s }
}
