/**
 * Node's compile cache for the node daemon, so that a running daemon does not keep
 * Node's TypeScript transpiler in memory.
 *
 * The daemon's sources are TypeScript, which Node strips with a WebAssembly build of
 * `swc` (`amaro`). Once loaded, the transpiler stays in the process for good: measured
 * here, 12 MiB of anonymous memory and 6 MiB more of Node's binary paged in, on a process
 * that must stay under 200 MB while it pulls (bench/RESULTS.md, "Pull CPU"). With Node's
 * compile cache, a module loaded before is taken from the cache, stripped and compiled,
 * and the transpiler is never loaded; startup is faster too.
 *
 * - The cache is the user's: `$XDG_CACHE_HOME/branchcast/compile-cache`, by default
 *   `~/.cache/branchcast/compile-cache`, made mode 0700. A folder owned by another user or
 *   writable by others is not used (its entries would run as this daemon's code).
 * - The entry file is stripped before any of the daemon's code runs, so the cache has to
 *   be in force when the process starts: `NODE_COMPILE_CACHE` goes into the environment of
 *   the exec that sets the allocator (malloc-tuning.ts).
 * - On the first start after an install or an upgrade the cache is cold: the modules are
 *   stripped and the transpiler loaded. Once they are, the daemon writes the cache out and
 *   runs itself once more (same pid, before it takes the data-directory lock), now
 *   without it. A module imported later for the first time (a VM's first start) loads the
 *   transpiler for the rest of that run only.
 *
 * `BRANCHCAST_COMPILE_CACHE=0` turns this off; an environment with `NODE_COMPILE_CACHE` or
 * `NODE_DISABLE_COMPILE_CACHE` of its own is left alone. This module imports only Node's
 * own: it runs before the daemon's modules load.
 */
import { lstatSync, mkdirSync } from 'node:fs'
import { flushCompileCache, getCompileCacheDir } from 'node:module'
import { homedir } from 'node:os'
import { isAbsolute, join } from 'node:path'

/** Set in the environment of the exec that follows a cold start, so that there is one at most. */
const AFTER_COLD_START = 'BRANCHCAST_COMPILE_CACHE_WARMED'

/**
 * The cache folder the daemon uses, made if missing; undefined when it is off, when the
 * environment has a compile cache setting of its own, or when the folder cannot be used
 * (no home, not ours, writable by others: said as a warning unless `warn` is false).
 */
export function daemonCompileCacheDir (env: NodeJS.ProcessEnv = process.env, { warn = true }: { warn?: boolean } = {}): string | undefined {
  if (env.BRANCHCAST_COMPILE_CACHE === '0' || env.NODE_COMPILE_CACHE !== undefined || env.NODE_DISABLE_COMPILE_CACHE !== undefined) return undefined
  // a relative XDG_CACHE_HOME is invalid by the spec and ignored
  const base = env.XDG_CACHE_HOME !== undefined && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : join(homedir(), '.cache')
  const dir = join(base, 'branchcast', 'compile-cache')
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const st = lstatSync(dir)
    const uid = process.getuid?.()
    if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) {
      if (warn) process.emitWarning(`not using ${dir} as the compile cache: it must be a folder of this user's that others cannot write to`)
      return undefined
    }
    return dir
  } catch {
    return undefined // no home, read-only: the daemon runs as it did before the cache
  }
}

/** Whether Node's TypeScript transpiler is loaded in this process. */
export function transpilerLoaded (): boolean {
  return (process as unknown as { moduleLoadList: string[] }).moduleLoadList.some((m) => m.includes('internal/deps/amaro/'))
}

/**
 * After the daemon's modules loaded: when they were stripped here (a cold cache), writes
 * the cache out and runs this process again, once; returns otherwise.
 */
export function execAgainAfterColdStart (): void {
  const env = process.env
  // as given in the environment: Node's own name for it has a version folder appended
  if (env.NODE_COMPILE_CACHE === undefined || getCompileCacheDir() === undefined) return
  if (env.BRANCHCAST_COMPILE_CACHE === '0' || env[AFTER_COLD_START] !== undefined || !transpilerLoaded()) return
  if (process.platform === 'win32' || typeof process.execve !== 'function') return
  try {
    flushCompileCache()
    process.execve(process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], { ...env, [AFTER_COLD_START]: '1' })
  } catch (err) {
    process.emitWarning(`running with the TypeScript transpiler loaded: ${(err as Error).message}`)
  }
}
