/**
 * OpenID Connect limits and timings, each with why. Operators find them in
 * tracker/README.md's Limits table.
 */

/** scrypt cost (N = 2^15, r 8, p 1: ~32 MiB and tens of ms per check) — OWASP's floor for scrypt. */
export const SCRYPT_N = 2 ** 15
export const SCRYPT_KEY_BYTES = 32
/** A login form's user name or password: longer is not a person typing. */
export const MAX_LOGIN_FIELD_CHARS = 1024
/** A login form body: two fields and the provider's own. */
export const MAX_LOGIN_BODY_BYTES = 8 * 1024
/** The console's login round trip (state, nonce, PKCE verifier cookie) must finish in this time. */
export const LOGIN_COOKIE_TTL_SECONDS = 10 * 60
/** The embedded provider's refresh tokens: a desk that was off for two weeks logs in again. */
export const REFRESH_TOKEN_TTL_SECONDS = 14 * 86_400
/** A device code (`branchcast login`) is good for this long. */
export const DEVICE_CODE_TTL_SECONDS = 10 * 60
/** The provider's own login session. */
export const PROVIDER_SESSION_TTL_SECONDS = 8 * 3600
/** Refresh an access token this long before it expires, so a request in flight does not carry a dead one. */
export const ACCESS_TOKEN_REFRESH_MARGIN_MS = 30_000
/** The scope the tracker's resource grants in access tokens. */
export const API_SCOPE = 'api'
/** The console's cookies: the sealed session, and the sealed login round trip (path /console). */
export const SESSION_COOKIE = 'bc_session'
export const LOGIN_COOKIE = 'bc_login'
/** The embedded provider keeps at most this many sessions, grants, codes and tokens in memory (~1 KiB each). */
export const MAX_PROVIDER_ENTRIES = 100_000
