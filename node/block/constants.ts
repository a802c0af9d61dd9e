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

/**
 * A lazy boot's recording (the version has no boot profile yet) ends at the first of: the
 * guest agent answers (the session says so), reads quiet for this long, … A desktop's boot
 * pauses for seconds between bursts (DHCP, a service's timeout); 10 s of silence means it
 * is done or idle.
 */
export const BOOT_RECORD_QUIET_MS = 10_000
/** … this long after the first read (a boot that takes longer records its first two minutes), … */
export const BOOT_RECORD_WINDOW_MS = 120_000
/** … or this many bytes of distinct chunks: an Xfce boot reads ~280 MB; a profile is a head start, not the image. */
export const BOOT_RECORD_MAX_BYTES = 512 * 1024 * 1024
/** Asking the tracker whether it wants a recording and handing it in, at most this long. */
export const BOOT_RECORD_SUBMIT_TIMEOUT_MS = 30_000
