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

// ---- HTTP server (issue 11, findings 2 and 3) ------------------------------------------
// What one connection may hold, applied below the app (http-guard.ts). Memory is bounded by
// connections × (headers + what a body can send before its deadline, at most its route's cap).

/** Open connections in all: beyond this Node drops new ones (file descriptors; memory is bounded below). */
export const MAX_CONNECTIONS = 4096
/**
 * Non-upload requests whose body is still arriving, in all; more get 503 + retry-after at
 * once. A request costs ~100 KiB before its body (measured: 2,000 near-empty slow requests
 * added ~190 MiB) plus what it sent before its deadline, so this keeps a flood of slow
 * bodies within about twice the idle tracker's memory. Real bodies arrive in milliseconds.
 */
export const MAX_BODIES_IN_FLIGHT = 256
/**
 * Open connections per client address: a desk keeps one or two; a branch behind one NAT
 * address has tens to hundreds of desks (raise `maxConnectionsPerAddress` for larger ones).
 */
export const MAX_CONNECTIONS_PER_ADDRESS = 128
/** Request headers: 8 KiB. A bearer token and our headers take < 1 KiB; Node's default (16 KiB) let 15 KiB headers through. */
export const MAX_HEADER_BYTES = 8 * 1024
/** A request's headers must arrive within this; slow-header connections are closed. */
export const HEADERS_TIMEOUT_MS = 10_000
/**
 * Every body except the image upload must be complete within this after its headers: the
 * largest (1 MiB announce or event batch) needs ≥ 100 KiB/s, far below any desk's link.
 */
export const BODY_DEADLINE_MS = 10_000
/** How often Node checks the header deadline (its default, 30 s, would let slow headers stay 4× longer). */
export const CONNECTIONS_CHECK_INTERVAL_MS = 1_000
