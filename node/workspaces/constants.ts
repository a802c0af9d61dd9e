/** Limits and defaults of the workspace reconciler and policy enforcement (listed in node/README.md). */

/** How often the node re-reads its workspaces from the tracker: a policy change reaches every desk within minutes. */
export const DEFAULT_RECONCILE_INTERVAL_MS = 5 * 60_000
/** ± this fraction of the interval, so a branch's desks do not all ask the tracker in the same second. */
export const RECONCILE_JITTER = 0.2
/** The shortest interval an operator may set: the tracker answers every desk's poll. */
export const MIN_RECONCILE_INTERVAL_MS = 1_000
/** Warn the user this long before a workspace expires (MED-V gave no warning). */
export const DEFAULT_EXPIRY_WARNING_DAYS = 7
/** A host verification command gets this long before it counts as failed. */
export const DEFAULT_HOST_CHECK_TIMEOUT_MS = 30_000
/** Output kept of a host verification command (the rest is dropped; the command fails past it). */
export const HOST_CHECK_MAX_OUTPUT_BYTES = 64 * 1024
/** One tracker read of the workspaces, bounded. */
export const WORKSPACES_FETCH_TIMEOUT_MS = 30_000
/** A failed automatic pull is tried again after this long, doubling up to the maximum. */
export const PULL_RETRY_MIN_MS = 5_000
export const PULL_RETRY_MAX_MS = 10 * 60_000
/** The policy cache and the reconciler's memory of what it reported, in the data directory. */
export const POLICY_CACHE_FILE = 'workspaces.json'
export const WORKSPACE_STATE_FILE = 'workspaces-state.json'
