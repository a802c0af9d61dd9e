/**
 * The tracker's limits, each with why. Operators find them listed in tracker/README.md.
 */

/** Graceful shutdown waits this long for in-flight requests (uploads) before aborting them. */
export const SHUTDOWN_GRACE_MS = 10_000

// ---- swarm (H8) ----------------------------------------------------------------------
/**
 * An announce body: dominated by the `have` bitfield, base64 of ceil(chunkCount/8) bytes —
 * ~175 KiB for a 64 GiB image of ~1 M chunks; 1 MiB leaves room for ~6 M chunks.
 */
export const MAX_ANNOUNCE_BODY_BYTES = 1024 * 1024
/** Addresses per announce: a node has a handful (IPv4, IPv6, a relay); more is abuse. */
export const MAX_ANNOUNCE_ADDRS = 16
/** One multiaddr string: real ones are well under 200 characters. */
export const MAX_MULTIADDR_CHARS = 256
/** Peers returned per announce: enough to fill a scheduler's parallel fetches, and each carries its bitfield. */
export const MAX_PEERS_RETURNED = 32
/** Nodes re-announce this many times per membership TTL, so one lost announce does not drop them. */
export const ANNOUNCES_PER_TTL = 3
/** The sweeper deletes lapsed memberships and refreshes the swarm-size gauge this often. */
export const SWARM_SWEEP_INTERVAL_MS = 15_000

/**
 * Largest image upload (declared Content-Length or bytes streamed): 1 TiB. Far above any VM
 * disk we ship, low enough that a runaway client cannot fill the repository's disk unnoticed.
 */
export const MAX_UPLOAD_BYTES = 2 ** 40
/** Image descriptions are shown in the console and CLI listings, not documents. */
export const MAX_IMAGE_DESCRIPTION_CHARS = 1_000
/** JSON bodies of the image routes (create, rollback) are a few fields. */
export const MAX_IMAGES_JSON_BODY_BYTES = 16 * 1024

// ---- identity and policy (H7) ---------------------------------------------------------
// Request-shape limits (groups per token, policy fields) are in protocol/api/{tokens,policies}.ts;
// identity's own in identity/constants.ts, event ingest's in events/constants.ts.
/** JSON bodies of the token, policy and assignment routes: a policy with every app at its caps fits. */
export const MAX_ADMIN_JSON_BODY_BYTES = 256 * 1024
