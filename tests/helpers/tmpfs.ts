import { execFile } from 'node:child_process'
import { mkdtemp, rmdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/**
 * Runs `fn` on a freshly mounted tmpfs of `sizeBytes` (a real, small file system that
 * fills up: ENOSPC for real). Resolves to `{ mounted: false }` without calling `fn` where
 * mounting is not permitted (not root, no CAP_SYS_ADMIN), so the caller can fall back.
 * Always unmounts and removes the mount point.
 */
export async function withTmpfs<T> (sizeBytes: number, fn: (dir: string) => Promise<T>): Promise<{ mounted: true, value: T } | { mounted: false, reason: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'branchcast-tmpfs-'))
  try {
    try {
      await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700`, 'tmpfs', dir])
    } catch (err) {
      return { mounted: false, reason: (err as Error).message.split('\n')[0] ?? 'mount failed' }
    }
    try {
      return { mounted: true, value: await fn(dir) }
    } finally {
      await run('umount', [dir])
    }
  } finally {
    await rmdir(dir)
  }
}
