/**
 * V8 settings for a process that moves image bytes (the node daemon; the benches that
 * measure its paths apply the same). Every chunk a node pulls or serves passes through
 * short-lived buffers (socket reads, Noise, frames), and V8's defaults suit that badly:
 *
 * - `--semi-space-growth-factor=1`: the young generation stays at its initial 1 MiB
 *   semi-space instead of growing to 16–32 MiB. Scavenges then come often enough to free
 *   chunk buffers while they are young; with a large young generation they outlived their
 *   scavenge, reached the old space, and piled up as garbage.
 * - `--external-memory-accounted-in-global-limit` and `--heap-growing-percent=30`: buffer
 *   memory counts toward the heap's own limit, and that limit is 1.3 × what the last full
 *   collection kept (V8 lets it grow up to 4 ×): buffers that did reach the old space are
 *   collected once they add up to about a third of the live heap, not after 64 MiB of
 *   growth. A full collection of the daemon's ~40 MiB heap costs a few ms. Pulling 8 GiB
 *   from a peer, 50 % gave peaks of 179–193 MiB, 30 % 171–179 MiB at the same CPU per MiB;
 *   20 % and 10 % cost 1.5–3 × the CPU.
 *
 * Measured on a 256 MiB pull from a same-site peer (bench/RESULTS.md, "Pull CPU"): puller
 * peak RSS 260–290 → 180–190 MiB, CPU per MiB 7.5–8.4 → 5–6 ms.
 *
 * This module imports nothing but `node:v8`: the flags must be set before the daemon's
 * modules load (the young generation grows while they do and does not shrink back), from
 * the process itself (after malloc-tuning.ts's exec, if any). Given on the command line
 * instead, `--semi-space-growth-factor` did not hold the young generation (V8 13.6);
 * `--max-semi-space-size=1` does, but only there.
 */
import { setFlagsFromString } from 'node:v8'

export const DAEMON_V8_FLAGS: readonly string[] = ['--semi-space-growth-factor=1', '--external-memory-accounted-in-global-limit', '--heap-growing-percent=30']

/** Sets DAEMON_V8_FLAGS in this process; call it before importing the node's modules. */
export function applyDaemonV8Flags (): void {
  for (const flag of DAEMON_V8_FLAGS) setFlagsFromString(flag)
}
