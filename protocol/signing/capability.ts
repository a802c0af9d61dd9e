/**
 * Capability tokens: short-lived, tracker-signed (Ed25519) permissions to fetch the chunks
 * of one image — from the origin (`aud: 'origin'`) or from peers (`aud: 'peer'`, bound to
 * the requester's libp2p peer id). Anyone holding the tracker's capability public key can
 * verify one offline: origins and serving peers never call the tracker per request.
 *
 * Wire form: `base64url(JSON claims) "." base64url(signature over the first part)`, both
 * unpadded and canonical (the one spelling our encoder writes; see canonical-base64.ts).
 */
import type { KeyObject } from 'node:crypto'
import { decodeCanonicalBase64 } from './canonical-base64.ts'
import { signBytes, verifyBytes } from './signing.ts'
import { TokenExpiredError, TokenInvalidError, TokenMalformedError } from '../errors.ts'

export type CapabilityAudience = 'origin' | 'peer'

export interface CapabilityClaims {
  /** token format version */
  v: 1
  aud: CapabilityAudience
  /** who may use it: the client id (origin) or libp2p peer id (peer) */
  sub: string
  /** image name the token covers */
  img: string
  /** issued at / expires, ms since epoch */
  iat: number
  exp: number
  /**
   * origin tokens: the most bytes per second the holder may take from the origin (the
   * workspace policy's cap), enforced by an origin that can (the built-in one); absent = no cap
   */
  rate?: number
}

/** Tokens are small; anything longer is refused before parsing. */
export const MAX_CAPABILITY_TOKEN_BYTES = 2048
const NAME_RE = /^[A-Za-z0-9._:@/+=-]{1,256}$/

export function signCapability (claims: Omit<CapabilityClaims, 'v'>, privateKey: KeyObject): string {
  if (!NAME_RE.test(claims.sub) || !NAME_RE.test(claims.img)) throw new TypeError('capability subject and image must be short printable names')
  if (!Number.isSafeInteger(claims.iat) || !Number.isSafeInteger(claims.exp) || claims.exp <= claims.iat) throw new TypeError('capability needs iat < exp (ms)')
  if (claims.rate !== undefined && !(Number.isSafeInteger(claims.rate) && claims.rate > 0)) throw new TypeError('capability rate must be a positive integer (bytes per second)')
  const fields = { v: 1, aud: claims.aud, sub: claims.sub, img: claims.img, iat: claims.iat, exp: claims.exp, ...(claims.rate === undefined ? {} : { rate: claims.rate }) }
  const body = Buffer.from(JSON.stringify(fields)).toString('base64url')
  const sig = Buffer.from(signBytes(privateKey, Buffer.from(body))).toString('base64url')
  return `${body}.${sig}`
}

export interface VerifyCapabilityOptions {
  publicKey: KeyObject
  nowMs: number
  aud: CapabilityAudience
  /** required subject (the caller's client id or peer id) */
  sub?: string
  /** required image */
  img?: string
  /** tolerated clock skew, ms */
  skewMs?: number
}

function parseClaims (claimsJson: Uint8Array): CapabilityClaims {
  let raw: unknown
  try {
    raw = JSON.parse(Buffer.from(claimsJson).toString('utf8'))
  } catch (err) {
    throw new TokenMalformedError('capability claims are not JSON', { cause: err })
  }
  const c = raw as Partial<CapabilityClaims> | null
  if (c === null || typeof c !== 'object' || c.v !== 1 || (c.aud !== 'origin' && c.aud !== 'peer') ||
    typeof c.sub !== 'string' || !NAME_RE.test(c.sub) || typeof c.img !== 'string' || !NAME_RE.test(c.img) ||
    !Number.isSafeInteger(c.iat) || !Number.isSafeInteger(c.exp) ||
    (c.rate !== undefined && !(Number.isSafeInteger(c.rate) && c.rate > 0))) {
    throw new TokenMalformedError('capability claims are incomplete')
  }
  return c as CapabilityClaims
}

/** Verify signature first, then expiry, audience, subject and image. */
export function verifyCapability (token: string, options: VerifyCapabilityOptions): CapabilityClaims {
  if (typeof token !== 'string' || token.length > MAX_CAPABILITY_TOKEN_BYTES) throw new TokenMalformedError('capability token too long or not a string')
  const parts = token.split('.')
  // Canonical base64url only: the lenient decoder ignores the last character's unused bits,
  // which made every signature one of several spellings that all verified.
  const claimsJson = parts.length === 2 && parts[0] !== '' ? decodeCanonicalBase64(parts[0]!, 'base64url') : undefined
  const signature = parts.length === 2 && parts[1] !== '' ? decodeCanonicalBase64(parts[1]!, 'base64url') : undefined
  if (claimsJson === undefined || signature === undefined) throw new TokenMalformedError('capability token is not two canonical base64url parts')
  if (signature.length !== 64 || !verifyBytes(options.publicKey, Buffer.from(parts[0]!), signature)) throw new TokenInvalidError('capability signature does not verify')
  const claims = parseClaims(claimsJson)
  const skew = options.skewMs ?? 30_000
  if (options.nowMs >= claims.exp + skew) throw new TokenExpiredError('capability token has expired')
  if (claims.iat > options.nowMs + skew) throw new TokenInvalidError('capability token issued in the future')
  if (claims.aud !== options.aud) throw new TokenInvalidError(`capability is for ${claims.aud}, not ${options.aud}`)
  if (options.sub !== undefined && claims.sub !== options.sub) throw new TokenInvalidError('capability is bound to another client')
  if (options.img !== undefined && claims.img !== options.img) throw new TokenInvalidError('capability covers another image')
  return claims
}
