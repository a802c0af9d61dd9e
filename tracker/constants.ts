/**
 * The tracker's limits, each with why. Operators find them listed in tracker/README.md.
 */

/** Graceful shutdown waits this long for in-flight requests (uploads) before aborting them. */
export const SHUTDOWN_GRACE_MS = 10_000

// ---- swarm (H8) ----------------------------------------------------------------------
// The registry's own limits: swarm/constants.ts; the caps on what a node sends: protocol/api/swarm.ts.

// ---- events (H8) ---------------------------------------------------------------------
// Batch byte/count caps and payload size live in protocol/events.ts (the node obeys them too).
/** Per (user, client) token bucket: a node flushes its event queue in a burst after being offline. */
export const EVENT_RATE_BURST = 30
/** Sustained batches per second per (user, client): a node posts every few seconds. */
export const EVENT_RATE_PER_SEC = 2
/** Buckets kept in memory per process; the least recently used is dropped beyond this. */
export const EVENT_RATE_MAX_BUCKETS = 100_000
/** Client ids (header or body) are at most this long. */
export const MAX_CLIENT_ID_CHARS = 128

/**
 * Largest image upload (declared Content-Length or bytes streamed): 1 TiB. Far above any VM
 * disk we ship, low enough that a runaway client cannot fill the repository's disk unnoticed.
 */
export const MAX_UPLOAD_BYTES = 2 ** 40
/** JSON bodies of the image routes (create, rollback) are a few fields. */
export const MAX_IMAGES_JSON_BODY_BYTES = 16 * 1024

// ---- identity and policy (H7) ---------------------------------------------------------
/** JSON bodies of the token, policy and assignment routes: a policy with every app at its caps fits. */
export const MAX_ADMIN_JSON_BODY_BYTES = 256 * 1024
/** Groups carried by one token: directory users are in dozens, not thousands. */
export const MAX_TOKEN_GROUPS = 256
/** A token's label, shown in listings. */
export const MAX_TOKEN_LABEL_CHARS = 200
/** Token lifetime when given: ten years is "forever" for an API token. */
export const MAX_TOKEN_TTL_MS = 3650 * 86_400_000
/** `last used` is written at most this often per token, so authenticated reads stay reads. */
export const TOKEN_USE_WRITE_INTERVAL_MS = 60_000
/** Published applications per policy: a start menu's worth. */
export const MAX_PUBLISHED_APPS = 32
/** An application's display name. */
export const MAX_APP_NAME_CHARS = 100
/** An application's command line and icon (a path in the guest or a URL). */
export const MAX_APP_COMMAND_CHARS = 2048
/** Offline grace period: at most a year without reaching the tracker. */
export const MAX_OFFLINE_GRACE_SECONDS = 366 * 86_400
/** VM memory: 1 TiB in MiB, more than any desktop host has. */
export const MAX_VM_MEMORY_MB = 1024 * 1024
/** VM CPUs. */
export const MAX_VM_CPUS = 256
/** Policy priority range: wide enough for any ordering scheme, small enough for every SQL integer. */
export const MAX_POLICY_PRIORITY = 1_000_000
/** Origin rate cap: 100 GB/s is "no cap" in practice; larger values are typos. */
export const MAX_ORIGIN_RATE_BYTES_PER_SEC = 100_000_000_000
