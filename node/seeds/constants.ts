/** Limits of the seed index (listed for operators in node/seeds/README.md). */

/** Default cap on indexed chunks across all parameter sets: ~16 GiB of seed files at 64 KiB, ~12 MiB on disk, ~40 MiB in memory. */
export const DEFAULT_SEED_MAX_CHUNKS = 262_144
/** Files considered per pass over all roots: a root naming `/` must not walk the whole host for ever. */
export const DEFAULT_SEED_MAX_FILES = 100_000
/** Directory depth below a root: deeper trees are skipped with a logged reason. */
export const DEFAULT_SEED_MAX_DEPTH = 32
/** Read rate while indexing: low priority beside pulls, sessions and the desktop. */
export const DEFAULT_SEED_READ_BYTES_PER_SEC = 32 * 1024 * 1024
/** A full pass again this long after the last one ended (changed files are picked up then). */
export const DEFAULT_SEED_RESCAN_INTERVAL_MS = 15 * 60_000
/** Bytes read from a seed file at a time while indexing; the event loop gets a turn between reads. */
export const SEED_READ_BYTES = 1024 * 1024
/** Progress saved at least this often during a long pass, so a stop or crash keeps most of it. */
export const SEED_PERSIST_INTERVAL_MS = 30_000
/** Parameter sets indexed at once (chunk boundaries depend on them; each costs a read of every file). */
export const MAX_SEED_PARAM_SETS = 4
/** Roots named in the config. */
export const MAX_SEED_ROOTS = 64
/** Longest path recorded (bytes of UTF-8). */
export const MAX_SEED_PATH_BYTES = 4096
/** Files the persistent index may name (its parse is bounded by this and the chunk cap). */
export const MAX_SEED_INDEX_FILES = 1_000_000
/** Name of the index in the data directory. */
export const SEED_INDEX_FILE = 'seeds.index'

/**
 * How long a pull waits for the index's first pass over its roots (seeds configured, node
 * just started) before it goes to peers and the origin anyway. A lazy start (a VM waiting)
 * does not wait.
 */
export const SEED_FIRST_PASS_WAIT_MS = 120_000
