/**
 * Identity's limits and timings, each with why. Operators find them in tracker/README.md's
 * Limits table. (Request-shape limits — groups per token, label length — are part of the
 * API agreement: `protocol/api/tokens.ts`.)
 */

/** Token lifetime when given: ten years is "forever" for an API token. */
export const MAX_TOKEN_TTL_MS = 3650 * 86_400_000
/** `last used` is written at most this often per token, so authenticated reads stay reads. */
export const TOKEN_USE_WRITE_INTERVAL_MS = 60_000

/** An access token longer than this is refused unread: real ones are 1–4 KiB (groups included). */
export const MAX_ACCESS_TOKEN_CHARS = 16_384
/** The issuer's key set is refetched at least this often (key rotation). */
export const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000
/** An unknown `kid` refetches the key set at most this often, so forged kids cannot hammer the issuer. */
export const JWKS_COOLDOWN_MS = 30_000
/** A key-set fetch that takes longer fails the request (503), not the tracker. */
export const JWKS_TIMEOUT_MS = 5_000
