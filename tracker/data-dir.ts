/**
 * The data directory holds every image's chunks, the database (token hashes, events) and
 * the signing keys: only the tracker's own user may read it. A directory made by an older
 * version, by hand or by a restore can be 0755 with a 0644 database (issue 11, finding 10):
 * on start the tracker takes group and other bits off the directory, the database files,
 * the chunk store, the keys and the first-start token, and says once what it changed.
 */
import { chmod, mkdir, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'

/** What is checked, relative to the data directory; `tracker.db*` covers the WAL and shm files. */
const PRIVATE_DIRS = ['', 'store', 'keys']
const PRIVATE_FILE = /^(?:tracker\.db(?:-wal|-shm|-journal)?|initial-admin-token)$/

async function tighten (path: string): Promise<string | undefined> {
  let mode: number
  try {
    mode = (await stat(path)).mode & 0o7777
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  if ((mode & 0o077) === 0) return undefined
  await chmod(path, mode & ~0o077)
  return `${path} ${mode.toString(8)}→${(mode & ~0o077).toString(8)}`
}

/**
 * Creates `dataDir` (0700) if needed and takes group/other permissions off what it holds;
 * returns what it changed (empty when nothing was loose). Chunk files inside `store/` keep
 * their mode: the 0700 directories above them already shut others out.
 */
export async function securePrivateFiles (dataDir: string): Promise<string[]> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const changed: string[] = []
  for (const d of PRIVATE_DIRS) {
    const dir = join(dataDir, d)
    const c = await tighten(dir)
    if (c !== undefined) changed.push(c)
    let names: string[] = []
    try { names = await readdir(dir) } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err }
    for (const name of names) {
      if (d === 'keys' || (d === '' && PRIVATE_FILE.test(name))) {
        const f = await tighten(join(dir, name))
        if (f !== undefined) changed.push(f)
      }
    }
  }
  return changed
}
