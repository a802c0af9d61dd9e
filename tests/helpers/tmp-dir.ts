import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Runs `fn` with a fresh empty directory, removed afterwards whatever happens. */
export async function withTmpDir<T> (fn: (dir: string) => Promise<T>, prefix = 'branchcast-'): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  try {
    return await fn(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** A fresh empty directory that outlives the call; the caller removes it (`rm -r`) when done. */
export async function makeTmpDir (prefix = 'branchcast-'): Promise<string> {
  return await mkdtemp(join(tmpdir(), prefix))
}
