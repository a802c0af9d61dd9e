/** Limits and timings of instant start (lazy disks). */

/**
 * A guest read that has waited this long while not one chunk of its image arrived gives up
 * and the guest is paused: long enough that a slow but flowing link never pauses it, short
 * enough that a guest kernel's own I/O timeouts (30 s for virtio-blk) are far away.
 */
export const LAZY_STALL_MS = 2_000
/** A failed pull a VM reads from is tried again after this, doubling … */
export const LAZY_PULL_RETRY_MIN_MS = 500
/** … up to this: a node whose network comes back resumes its guests within about this long. */
export const LAZY_PULL_RETRY_MAX_MS = 5_000
/** A lazy start waits this long at most for the pull to verify the manifest and open the version. */
export const LAZY_OPEN_TIMEOUT_MS = 60_000
/** How often a lazy start looks whether the pull has opened the version's file yet. */
export const LAZY_OPEN_POLL_MS = 50
/** The NBD socket's name in `<dataDir>/block/`. */
export const NBD_SOCKET_NAME = 'nbd.sock'
/** sun_path holds 108 bytes with its NUL (Linux). */
export const MAX_SOCKET_PATH_BYTES = 107
