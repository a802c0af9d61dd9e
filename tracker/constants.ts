/**
 * The tracker's limits, each with why. Operators find them listed in tracker/README.md.
 */

/** Graceful shutdown waits this long for in-flight requests (uploads) before aborting them. */
export const SHUTDOWN_GRACE_MS = 10_000
