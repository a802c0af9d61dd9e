/**
 * The image repository's limits and timings, each with why. Operators find them in
 * tracker/README.md's Limits table.
 */

/** An upload lease lapses this long after its last heartbeat: a crashed publish is then abandoned. */
export const UPLOAD_LEASE_TTL_MS = 60_000
/** Heartbeat well inside the TTL so one slow database write does not lose the lease. */
export const UPLOAD_HEARTBEAT_MS = 15_000
/**
 * Chunk writes in flight per publish: each put fsyncs, so one at a time leaves the disk
 * idle between syncs; more than a few only adds memory (each holds a chunk, ≤ 256 KiB).
 */
export const PUBLISH_PUT_CONCURRENCY = 16
/** Chunk references recorded per database write while an upload streams (a 4 GiB image has ~65 k). */
export const VERSION_CHUNK_BATCH = 2_000
/** Chunk ids asked about per `unreferencedChunks` query during GC. */
export const GC_QUERY_BATCH = 1_000
/**
 * A retired version keeps its chunks this long (so it can still be rolled back to);
 * GC frees them afterwards.
 */
export const RETIRED_KEEP_MS = 30 * 24 * 3600_000
/** Chunk files checked for existence at once before a rollback re-signs a version. */
export const ROLLBACK_STAT_CONCURRENCY = 32
/**
 * An upload that sends nothing for this long is abandoned: a stalled client would otherwise
 * hold its lease (and with it the GC horizon) forever.
 */
export const UPLOAD_IDLE_TIMEOUT_MS = 120_000
/**
 * Slowest upload accepted, averaged over each window below: 16 KiB/s is far below any admin's
 * link or our own disk, and ends a trickle (1 byte/s kept GC waiting forever, issue 11
 * finding 11) within a window plus the idle timeout.
 */
export const UPLOAD_MIN_BYTES_PER_SEC = 16 * 1024
export const UPLOAD_RATE_WINDOW_MS = 60_000
/**
 * Most earlier chunks a publish sketches to find delta bases (newest versions first):
 * 2^18 chunks is 16 GiB of distinct data at 64 KiB, ~60 MiB of sketches, and reading them
 * back costs what a publish of that size costs.
 */
export const MAX_DELTA_POOL_CHUNKS = 1 << 18
/** A delta is kept only when below this fraction of the whole stored chunk: a delta a node cannot use costs a wasted request. */
export const DELTA_KEEP_RATIO = 0.9
/** Earlier published versions whose chunks are delta bases for a new version. */
export const DELTA_BASE_VERSIONS = 2
/**
 * Versions waiting for their deltas (computed one at a time after their upload answered):
 * a burst of uploads beyond this skips the oldest waiting ones, whose nodes fetch whole chunks.
 */
export const MAX_PENDING_DELTA_JOBS = 8

/**
 * Recordings from distinct users a version needs before the tracker publishes a boot
 * profile by itself: with 3, one lying node neither adds a chunk (a chunk needs a
 * majority) nor moves one far (the order is the median position), and the profile is out
 * after the third lazy boot.
 */
export const BOOT_PROFILE_QUORUM = 3
/** Recordings a version holds at most while their merge is not yet publishable (each ≤ ~1.1 MB). */
export const MAX_BOOT_PROFILE_CANDIDATES = 8
/** Recordings one user may hand in per minute, over all versions: a node submits once per lazy boot. */
export const BOOT_PROFILE_SUBMITS_PER_MINUTE = 10
