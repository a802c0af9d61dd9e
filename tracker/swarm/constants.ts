/**
 * The swarm registry's limits and timings, each with why. Operators find them in
 * tracker/README.md's Limits table; the caps on what a node may send are part of the
 * agreement (protocol/api/swarm.ts).
 */

/** Peers returned per announce: enough to fill a scheduler's parallel fetches, and each carries its bitfield. */
export const MAX_PEERS_RETURNED = 32
/** Nodes re-announce this many times per membership TTL, so one lost announce does not drop them. */
export const ANNOUNCES_PER_TTL = 3
/** The sweeper deletes lapsed memberships and refreshes the swarm-size gauge this often. */
export const SWARM_SWEEP_INTERVAL_MS = 15_000
/** Announces and leaves refresh the swarm-size gauge at most this often between sweeps: a busy swarm must not sweep per request. */
export const SIZE_REFRESH_MIN_INTERVAL_MS = 1_000
/**
 * Live peer ids one user may announce in one site: a person has a desk or two there. One
 * token announcing 300 fake peers into a site slowed a fresh node's pull ninefold (issue 11,
 * finding 6).
 */
export const MAX_PEER_IDS_PER_USER_SITE = 4
