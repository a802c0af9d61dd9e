/**
 * Event ingest's limits, each with why. Operators find them in tracker/README.md's Limits
 * table. (Batch sizes, payload size and client-id length are part of the API agreement:
 * `protocol/api/events.ts`; the node obeys them too.)
 */

/** Per (user, client) token bucket: a node flushes its event queue in a burst after being offline. */
export const EVENT_RATE_BURST = 30
/** Sustained batches per second per (user, client): a node posts every few seconds. */
export const EVENT_RATE_PER_SEC = 2
/** Buckets kept in memory per process; the least recently used is dropped beyond this. */
export const EVENT_RATE_MAX_BUCKETS = 100_000
/**
 * Distinct site label values in the per-site wire metrics; later sites count under
 * `site="other"`. Sites are admin-chosen names, but a typo per desk must not grow
 * /metrics (and the scraper's memory) without bound.
 */
export const MAX_SITE_LABELS = 64
