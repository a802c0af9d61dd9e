/**
 * Event ingest's limits, each with why. Operators find them in tracker/README.md's Limits
 * table. (Batch sizes, payload size and client-id length are part of the API agreement:
 * `protocol/api/events.ts`; the node obeys them too.)
 *
 * Every limit is keyed on the authenticated user, never on a header the caller picks:
 * changing `x-branchcast-client` per batch used to buy a fresh bucket each time.
 */

/**
 * Event batch bodies one user may have in flight (being received, parsed and stored) at
 * once, per process; more are refused (429) before their body is read. A node posts one
 * batch at a time; a flood from one token must not hold many ~1 MB bodies and their parsed
 * JSON in memory, nor keep the event loop parsing them while others wait.
 */
export const EVENT_BODIES_IN_FLIGHT_PER_USER = 2

/**
 * A batch is stored in transactions of at most this many events, the event loop free in
 * between: SQLite's writes are synchronous, and 500 events at once held every other request
 * (health checks included) for hundreds of ms on a loaded machine. A batch cut by a crash
 * is resent whole by its node and its stored events count as duplicates: nothing is lost
 * or stored twice.
 */
export const INGEST_SLICE_EVENTS = 100

/** Per-user token bucket, in memory per process: a user's nodes flush their queues in a burst after being offline. */
export const EVENT_RATE_BURST = 60
/** Sustained batches per second per user in one process: a few nodes posting every few seconds. */
export const EVENT_RATE_PER_SEC = 4
/** Buckets kept in memory per process (one per user); the least recently used is dropped beyond this. */
export const EVENT_RATE_MAX_BUCKETS = 100_000
/**
 * Distinct site label values in the per-site wire metrics; later sites count under
 * `site="other"`. Sites are admin-chosen names, but a typo per desk must not grow
 * /metrics (and the scraper's memory) without bound.
 */
export const MAX_SITE_LABELS = 64

/** The database counters' windows: batches per minute, events per UTC day. */
export const MINUTE_MS = 60_000
export const DAY_MS = 86_400_000

/** How often the pruner runs: retention is counted in days, an hour late is nothing. */
export const EVENT_PRUNE_INTERVAL_MS = 60 * 60_000
/** Events deleted per statement: short enough that ingest (same database) waits milliseconds, not seconds. */
export const EVENT_PRUNE_BATCH = 2_000
/** Pause between prune statements, so ingest gets the database in between. */
export const EVENT_PRUNE_PAUSE_MS = 20
/** Usage counters older than this are deleted: the longest window is a day. */
export const USAGE_COUNTER_KEEP_MS = 2 * DAY_MS
