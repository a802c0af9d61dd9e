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

// --- events (node/events/) ---

/** First retry after a failed event post; doubles per failure (±25 % jitter so a branch does not retry in step). */
export const EVENT_RETRY_MIN_MS = 1_000
/** Longest wait between event posts while the tracker is unreachable: reports arrive within minutes of it coming back. */
export const EVENT_RETRY_MAX_MS = 5 * 60_000

/** While pulling, announce this often: peers learn what we hold from the tracker's answers. */
export const PULL_ANNOUNCE_INTERVAL_MS = 1_000
/** Chunks per request on one peer stream (≤ MAX_IDS_PER_REQUEST of the protocol). */
export const PEER_BATCH_CHUNKS = 16
/** After the last DONE, the serving peer has this long to close its side before the stream is reset. */
export const CHUNK_STREAM_CLOSE_GRACE_MS = 10_000
