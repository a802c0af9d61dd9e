/**
 * V8 settings for a process that moves image bytes (the node daemon; the benches that
 * measure its paths apply the same). Every chunk a node pulls or serves passes through
 * short-lived buffers (socket reads, Noise, frames), and V8's defaults suit that badly:
 *
 * - `--semi-space-growth-factor=1`: the young generation stays at its initial 1 MiB
 *   semi-space instead of growing to 16–32 MiB. Scavenges then come often enough to free
 *   chunk buffers while they are young; with a large young generation they outlived their
 *   scavenge, reached the old space, and piled up as garbage.
 * - `--external-memory-accounted-in-global-limit`: buffer memory counts toward the heap's
 *   own limit, so a full collection starts when garbage buffers reach about the size of
 *   the heap, not after a fixed 64 MiB of growth per collection.
 *
 * Measured on a 256 MiB pull from a same-site peer (bench/RESULTS.md, "Pull CPU"): peak
 * RSS and CPU per MiB both fall. This module imports nothing but `node:v8`: the flags must
 * be set before the daemon's modules load (the young generation grows while they do and
 * does not shrink back), from the process itself — a re-exec would change the pid the
 * data-directory lock records.
 */
import { setFlagsFromString } from 'node:v8'

export const DAEMON_V8_FLAGS: readonly string[] = ['--semi-space-growth-factor=1', '--external-memory-accounted-in-global-limit']

/** Sets DAEMON_V8_FLAGS in this process; call it before importing the node's modules. */
export function applyDaemonV8Flags (): void {
  for (const flag of DAEMON_V8_FLAGS) setFlagsFromString(flag)
}
