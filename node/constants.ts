/**
 * The node's limits and defaults, each with why. Listed for operators in node/README.md.
 */

/** Chunks asked of one peer at once: enough to hide a LAN round trip at ~64 KiB chunks. */
export const DEFAULT_MAX_INFLIGHT_PER_PEER = 16
/** Chunks asked of the origin at once before its health says otherwise. */
export const DEFAULT_MAX_INFLIGHT_ORIGIN = 8
/** A chunk request not answered in this time goes elsewhere. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000
/** The swarm made no progress for this long: chunks nobody holds come from the origin. */
export const DEFAULT_STALL_MS = 5_000
/** Below this many missing chunks, each in-flight chunk is also asked of a second holder. */
export const DEFAULT_END_GAME_CHUNKS = 32
/** An origin answer slower than this counts as a sign of trouble. */
export const DEFAULT_ORIGIN_SLOW_MS = 10_000
/** Back-off after origin errors: doubling from the minimum to the maximum. */
export const ORIGIN_BACKOFF_MIN_MS = 250
export const ORIGIN_BACKOFF_MAX_MS = 15_000
