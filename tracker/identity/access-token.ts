/**
 * OpenID Connect access tokens (JWTs) → a principal shaped like an API token's, so routes
 * authorise the same way whichever the caller used. The signature is checked against the
 * issuer's keys (remote JWKS: cached, refetched on an unknown `kid` at most once per
 * cooldown; or the embedded provider's own key set), then issuer, audience, expiry and
 * not-before with a clock skew; `alg` must be on the allow-list, checked before anything
 * else. Every refusal has its own code (`ERR_TOKEN_*`, answered 401).
 */
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose'
import type { JSONWebKeySet, JWTPayload, JWTVerifyGetKey } from 'jose'
import { MAX_TOKEN_GROUPS } from '../../protocol/index.ts'
import type { Role } from '../../protocol/index.ts'
import type { Principal } from '../env.ts'
import { isTrackerError, tokenRefused, unavailable } from '../errors.ts'
import type { TrackerError } from '../errors.ts'
import { JWKS_CACHE_MAX_AGE_MS, JWKS_COOLDOWN_MS, JWKS_TIMEOUT_MS, MAX_ACCESS_TOKEN_CHARS } from './constants.ts'

/** Which claims say who the caller is and what it may do. */
export interface ClaimMapping {
  /** the claim naming the user (`sub`, `preferred_username`, …) */
  userClaim: string
  /** the claim listing the user's groups: an array of strings or one space-separated string */
  groupsClaim: string
  /** a claim holding `admin` / `read-only-admin` (a string or an array of them) */
  roleClaim?: string
  adminGroups: readonly string[]
  readOnlyAdminGroups: readonly string[]
}

export interface AccessTokenVerifierInit {
  issuer: string
  audience: string
  /** the issuer's JWKS URL (or how to find it: discovery, on first use), or its key set itself (the embedded provider) */
  keys: { jwksUrl: URL | (() => Promise<URL>) } | { jwks: JSONWebKeySet }
  /** asymmetric algorithms only (the config schema allows nothing else) */
  algorithms: readonly string[]
  clockSkewSeconds: number
  claims: ClaimMapping
  now: () => number
}

export interface AccessTokenVerifier {
  /** The principal the token stands for; throws a TrackerError `ERR_TOKEN_*` naming why not. */
  verify: (token: string) => Promise<Principal>
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

/** Three base64url parts: worth trying as an access token (API tokens look nothing like it). */
export function isJwtShape (token: string): boolean {
  return token.length <= MAX_ACCESS_TOKEN_CHARS && JWT_SHAPE.test(token)
}

function stringList (value: unknown, claim: string): string[] {
  if (value === undefined || value === null) return []
  if (typeof value === 'string') return value.split(' ').filter((g) => g !== '')
  if (Array.isArray(value) && value.every((g) => typeof g === 'string')) return value
  throw tokenRefused('ERR_TOKEN_CLAIMS', `claim "${claim}" is neither a string nor a list of strings`)
}

/** The role the claims grant: a role claim or admin groups; a full admin wins over read-only. */
export function roleFromClaims (payload: JWTPayload, groups: readonly string[], mapping: ClaimMapping): Role {
  const roles = mapping.roleClaim === undefined ? [] : stringList(payload[mapping.roleClaim], mapping.roleClaim)
  if (roles.includes('admin') || groups.some((g) => mapping.adminGroups.includes(g))) return 'admin'
  if (roles.includes('read-only-admin') || groups.some((g) => mapping.readOnlyAdminGroups.includes(g))) return 'read-only-admin'
  return 'user'
}

/** A verified token's claims → the principal. Pure. */
export function principalFromClaims (payload: JWTPayload, mapping: ClaimMapping): Principal {
  const user = payload[mapping.userClaim]
  if (typeof user !== 'string' || user === '' || user.length > 200) throw tokenRefused('ERR_TOKEN_CLAIMS', `claim "${mapping.userClaim}" does not name a user`)
  const groups = [...new Set(stringList(payload[mapping.groupsClaim], mapping.groupsClaim))]
  if (groups.length > MAX_TOKEN_GROUPS) throw tokenRefused('ERR_TOKEN_CLAIMS', `more than ${MAX_TOKEN_GROUPS} groups`)
  const role = roleFromClaims(payload, groups, mapping)
  return { user, groups, admin: role !== 'user', role, kind: 'user', via: 'access-token' }
}

/** jose's refusal → ours, one code per reason. */
function refusal (err: unknown): TrackerError {
  if (err instanceof joseErrors.JWTExpired) return tokenRefused('ERR_TOKEN_EXPIRED', 'access token expired', err)
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'aud': return tokenRefused('ERR_TOKEN_AUDIENCE', 'access token is for another audience', err)
      case 'iss': return tokenRefused('ERR_TOKEN_ISSUER', 'access token is from another issuer', err)
      case 'nbf': case 'iat': return tokenRefused('ERR_TOKEN_NOT_YET_VALID', 'access token is not valid yet', err)
      default: return tokenRefused('ERR_TOKEN_CLAIMS', `access token claim "${err.claim}" is invalid`, err)
    }
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed || err instanceof joseErrors.JOSENotSupported) return tokenRefused('ERR_TOKEN_ALG', 'access token algorithm not allowed', err)
  if (err instanceof joseErrors.JWSSignatureVerificationFailed || err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys) {
    return tokenRefused('ERR_TOKEN_SIGNATURE', 'access token signature does not verify with the issuer\'s keys', err)
  }
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid) return tokenRefused('ERR_TOKEN_MALFORMED', 'access token is malformed', err)
  // the issuer's key set could not be fetched or read: not the caller's fault
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid || err instanceof TypeError) return unavailable('the issuer\'s keys are unavailable', err)
  if (isTrackerError(err)) return err // the issuer could not be discovered (ERR_UNAVAILABLE)
  throw err
}

export function createAccessTokenVerifier (init: AccessTokenVerifierInit): AccessTokenVerifier {
  const { issuer, audience, clockSkewSeconds, claims, now } = init
  const algorithms = [...init.algorithms]
  if (algorithms.some((a) => a === 'none' || a.startsWith('HS'))) throw new TypeError('access tokens must be signed asymmetrically: no "none", no HS*')
  const source = init.keys
  let remote: JWTVerifyGetKey | undefined
  const keys: JWTVerifyGetKey = 'jwks' in source
    ? createLocalJWKSet(source.jwks)
    : async (header, token) => {
      if (remote === undefined) {
        const url = typeof source.jwksUrl === 'function' ? await source.jwksUrl() : source.jwksUrl
        remote = createRemoteJWKSet(url, { cacheMaxAge: JWKS_CACHE_MAX_AGE_MS, cooldownDuration: JWKS_COOLDOWN_MS, timeoutDuration: JWKS_TIMEOUT_MS })
      }
      return await remote(header, token)
    }

  return {
    async verify (token) {
      if (!isJwtShape(token)) throw tokenRefused('ERR_TOKEN_MALFORMED', 'not a JWT access token')
      let alg: unknown
      try {
        alg = decodeProtectedHeader(token).alg
      } catch (err) {
        throw tokenRefused('ERR_TOKEN_MALFORMED', 'access token header is unreadable', err)
      }
      // before any key is looked up: `none` and HS* never reach a verifier
      if (typeof alg !== 'string' || !algorithms.includes(alg)) throw tokenRefused('ERR_TOKEN_ALG', `access token algorithm ${JSON.stringify(alg)} not allowed`)
      let payload: JWTPayload
      try {
        ({ payload } = await jwtVerify(token, keys, {
          issuer,
          audience,
          algorithms,
          clockTolerance: clockSkewSeconds,
          currentDate: new Date(now()),
          requiredClaims: ['exp']
        }))
      } catch (err) {
        throw refusal(err)
      }
      return principalFromClaims(payload, claims)
    }
  }
}
