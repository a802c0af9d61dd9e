/**
 * The files under the seed roots: regular files only, symbolic links inside a root never
 * followed (a root that is itself a link is followed: it was named), special files
 * skipped, depth and count bounded. Unreadable entries are skipped with a logged reason.
 */
import { lstat, readdir, stat } from 'node:fs/promises'
import type { Stats } from 'node:fs'
import { join } from 'node:path'
import { setImmediate as turn } from 'node:timers/promises'
import type { Logger } from '../../protocol/index.ts'
import { MAX_SEED_PATH_BYTES } from './constants.ts'

export interface SeedCandidate {
  path: string
  size: number
  mtimeMs: number
  ino: number
}

export interface WalkLimits {
  maxFiles: number
  maxDepth: number
  signal?: AbortSignal
}

function candidate (path: string, st: Stats): SeedCandidate {
  return { path, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino }
}

/** Every regular, non-empty file under `roots`, in a stable order, at most `maxFiles`. */
export async function walkSeedRoots (roots: readonly string[], limits: WalkLimits, log: Logger): Promise<{ files: SeedCandidate[], truncated: boolean }> {
  const files: SeedCandidate[] = []
  const seen = new Set<string>()
  let visited = 0
  const add = (c: SeedCandidate): boolean => {
    if (seen.has(c.path)) return true
    if (files.length >= limits.maxFiles) return false
    seen.add(c.path)
    files.push(c)
    return true
  }
  for (const root of roots) {
    let st: Stats
    try { st = await stat(root) } catch (err) {
      log.warn('seed root skipped: cannot stat it', { path: root, reason: (err as NodeJS.ErrnoException).code ?? String(err) })
      continue
    }
    if (st.isFile()) {
      if (st.size > 0 && !add(candidate(root, st))) return { files, truncated: true }
      continue
    }
    if (!st.isDirectory()) { log.warn('seed root skipped: not a file or directory', { path: root }); continue }
    const stack: Array<{ dir: string, depth: number }> = [{ dir: root, depth: 0 }]
    while (stack.length > 0) {
      limits.signal?.throwIfAborted()
      const { dir, depth } = stack.pop()!
      let names: string[]
      try { names = (await readdir(dir)).sort() } catch (err) {
        log.warn('seed directory skipped: cannot list it', { path: dir, reason: (err as NodeJS.ErrnoException).code ?? String(err) })
        continue
      }
      const subdirs: string[] = []
      for (const name of names) {
        if (++visited % 256 === 0) await turn()
        const p = join(dir, name)
        if (Buffer.byteLength(p) > MAX_SEED_PATH_BYTES) continue
        let e: Stats
        try { e = await lstat(p) } catch { continue } // gone meanwhile
        if (e.isDirectory()) {
          if (depth + 1 > limits.maxDepth) log.warn('seed directory skipped: deeper than the limit', { path: p, maxDepth: limits.maxDepth })
          else subdirs.push(p)
        } else if (e.isFile() && e.size > 0) {
          if (!add(candidate(p, e))) {
            log.warn('seed roots hold more files than the limit: the rest are not indexed', { maxFiles: limits.maxFiles })
            return { files, truncated: true }
          }
        }
        // symbolic links, sockets, devices, FIFOs: never read
      }
      for (const d of subdirs.reverse()) stack.push({ dir: d, depth: depth + 1 })
    }
  }
  return { files, truncated: false }
}
