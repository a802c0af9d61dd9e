/**
 * Identity's limits and timings, each with why. Operators find them in tracker/README.md's
 * Limits table. (Request-shape limits — groups per token, label length — are part of the
 * API agreement: `protocol/api/tokens.ts`.)
 */

/** Token lifetime when given: ten years is "forever" for an API token. */
export const MAX_TOKEN_TTL_MS = 3650 * 86_400_000
/** `last used` is written at most this often per token, so authenticated reads stay reads. */
export const TOKEN_USE_WRITE_INTERVAL_MS = 60_000
