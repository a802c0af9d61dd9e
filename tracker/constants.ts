/**
 * The tracker's limits, each with why. Operators find them listed in tracker/README.md.
 */

/** Graceful shutdown waits this long for in-flight requests (uploads) before aborting them. */
export const SHUTDOWN_GRACE_MS = 10_000

// ---- swarm (H8) ----------------------------------------------------------------------
// The registry's own limits: swarm/constants.ts; the caps on what a node sends: protocol/api/swarm.ts.

/**
 * Largest image upload (declared Content-Length or bytes streamed): 1 TiB. Far above any VM
 * disk we ship, low enough that a runaway client cannot fill the repository's disk unnoticed.
 */
export const MAX_UPLOAD_BYTES = 2 ** 40
/** JSON bodies of the image routes (create, rollback) are a few fields. */
export const MAX_IMAGES_JSON_BODY_BYTES = 16 * 1024

// ---- identity and policy (H7) ---------------------------------------------------------
// Request-shape limits (groups per token, policy fields) are in protocol/api/{tokens,policies}.ts;
// identity's own in identity/constants.ts, event ingest's in events/constants.ts.
/** JSON bodies of the token, policy and assignment routes: a policy with every app at its caps fits. */
export const MAX_ADMIN_JSON_BODY_BYTES = 256 * 1024
