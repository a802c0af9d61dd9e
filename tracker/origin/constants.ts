/**
 * The origin's limits and fixed values, each with why. Operators find them listed in
 * tracker/README.md.
 */

/** Chunks are named by their content and never change: caches may keep them for a year. */
export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable'

/**
 * Read size when streaming a chunk file: chunks average tens of KiB and are at most 4 MiB,
 * so 64 KiB reads keep a request's buffer small without many syscalls.
 */
export const ORIGIN_READ_BYTES = 64 * 1024

/** A Range header longer than this is not a single byte range: it is ignored (RFC 9110 §14.2). */
export const MAX_RANGE_HEADER_CHARS = 100

/** The origin-token request body is one client id: a few hundred bytes at most. */
export const MAX_ORIGIN_TOKEN_BODY_BYTES = 1024

/**
 * Image-membership answers cached per process (image, chunk) → yes. A published or
 * retired version keeps its chunks until the image is deleted, so a short-lived positive
 * cache spares the database one query per chunk request without serving much stale.
 */
export const MEMBERSHIP_CACHE_ENTRIES = 100_000
export const MEMBERSHIP_CACHE_TTL_MS = 60_000

/**
 * A chunk request held by the rate cap (origin tokens that carry one) waits at most this;
 * beyond it the request is refused with 429 + retry-after. A node fetches a few chunks at a
 * time, so at its cap its requests wait well under this.
 */
export const ORIGIN_PACE_MAX_WAIT_MS = 5_000

/** (node, image) rate clocks kept per process. */
export const ORIGIN_PACE_MAX_KEYS = 100_000
