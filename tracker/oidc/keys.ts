/**
 * OpenID Connect secrets in `<dataDir>/keys/` (0600, created on first start, atomically):
 * the embedded provider's signing key (ES256, as a private JWK with its `kid`), its cookie
 * signing keys, and the console's session key (encrypts the login and session cookies).
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto'
import type { JsonWebKey } from 'node:crypto'
import { join } from 'node:path'
import { readOrCreate } from '../keys.ts'

export type SigningJwk = JsonWebKey & { kid: string, alg: string }

export interface OidcKeys {
  /** the embedded provider's private signing key (JWK, with `kid`, `alg`, `use`) */
  signingJwk?: SigningJwk
  /** the provider's cookie keys (Keygrip) */
  cookieKeys: string[]
  /** 32 bytes: A256GCM key for the console's cookies */
  sessionKey: Uint8Array
}

function newSigningJwk (): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = privateKey.export({ format: 'jwk' })
  // RFC 7638-ish thumbprint of the public part: a stable, non-secret key id
  const kid = createHash('sha256').update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })).digest('base64url').slice(0, 16)
  return JSON.stringify({ ...jwk, kid, alg: 'ES256', use: 'sig' })
}

/** The public half of a signing JWK: what the tracker verifies access tokens with. */
export function publicJwk (jwk: SigningJwk): SigningJwk {
  const { d: _d, ...pub } = jwk
  return pub
}

export async function loadOidcKeys (dataDir: string, options: { embedded: boolean }): Promise<OidcKeys> {
  const dir = join(dataDir, 'keys')
  const secret = (): string => randomBytes(32).toString('base64url')
  const sessionKey = Buffer.from((await readOrCreate(join(dir, 'console-session.key'), secret)).trim(), 'base64url')
  if (!options.embedded) return { cookieKeys: [], sessionKey }
  return {
    signingJwk: JSON.parse(await readOrCreate(join(dir, 'oidc-signing.jwk.json'), newSigningJwk)),
    cookieKeys: [(await readOrCreate(join(dir, 'oidc-cookies.key'), secret)).trim()],
    sessionKey
  }
}
