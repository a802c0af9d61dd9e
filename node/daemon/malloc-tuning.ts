/**
 * glibc's allocator settings for the node daemon. Every chunk a node pulls or serves goes
 * through short-lived buffers of 16 KiB–256 KiB (socket reads, TLS and Noise records,
 * frames); Node's ArrayBuffers come from malloc. By default glibc raises its mmap threshold
 * each time such a mapped buffer is freed (up to 32 MiB), after which every buffer comes
 * from the main heap, which can only give memory back from its top: a long pull leaves the
 * heap as large as its worst moment, and peak RSS grew with the image.
 *
 * - `mmap_threshold=32768` fixes the threshold (no raising): buffers of 32 KiB and more —
 *   socket reads (64 KiB), Noise messages, frames — are mappings of their own, returned
 *   when freed, instead of fragmenting the heap;
 * - `trim_threshold=1048576`: the heap gives back free memory at its top past 1 MiB (not 128 KiB
 *   raised along with the threshold).
 *
 * glibc reads `GLIBC_TUNABLES` once, when the process starts, so the daemon runs itself
 * again (`process.execve`: same pid, same arguments) before anything else happens — before
 * it takes the data-directory lock, which records that pid. An environment that sets
 * `GLIBC_TUNABLES` itself (a service unit) is left as it is, and so is
 * `BRANCHCAST_MALLOC_TUNING=0`. Elsewhere than Linux, nothing happens; a C library without
 * tunables (musl) ignores the variable.
 *
 * The same exec puts the daemon's compile cache in force (compile-cache.ts says why).
 *
 * Measured on pulls from a same-site peer (bench/RESULTS.md, "Pull CPU"). This module
 * imports only compile-cache.ts and Node's own: it runs before the daemon's modules load.
 */

import { daemonCompileCacheDir } from './compile-cache.ts'

export const DAEMON_GLIBC_TUNABLES = 'glibc.malloc.mmap_threshold=32768:glibc.malloc.trim_threshold=1048576'

/**
 * Re-executes this process with DAEMON_GLIBC_TUNABLES and the compile cache
 * (compile-cache.ts) when they are wanted and not in force; returns otherwise (or when the
 * exec fails).
 */
export function execWithDaemonEnvironment (): void {
  const env = process.env
  if (process.platform !== 'linux' || typeof process.execve !== 'function') return
  const more: NodeJS.ProcessEnv = {}
  const tune = env.GLIBC_TUNABLES === undefined && env.BRANCHCAST_MALLOC_TUNING !== '0'
  if (tune) more.GLIBC_TUNABLES = DAEMON_GLIBC_TUNABLES
  // a process that runs itself again anyway leaves the warning about a refused folder to the next
  const cacheDir = daemonCompileCacheDir(env, { warn: !tune })
  if (cacheDir !== undefined) more.NODE_COMPILE_CACHE = cacheDir
  if (Object.keys(more).length === 0) return
  try {
    process.execve(process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], { ...env, ...more })
  } catch (err) {
    // the daemon runs on with the defaults
    process.emitWarning(`running with glibc's default allocator settings and no compile cache: ${(err as Error).message}`)
  }
}
