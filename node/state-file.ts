/**
 * Small JSON state files of the node, written atomically (temp file, fsync, rename) so a
 * killed node never leaves one half-written.
 */
import { open, readFile, rename, unlink } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'

export async function readJsonFile<T> (path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new Error(`cannot read ${path}: ${(err as Error).message}`, { cause: err })
  }
}

/**
 * Writes `data` to a fresh temp file beside `path` and fsyncs it; returns the temp path
 * for the caller to publish atomically (rename to replace, link to keep an existing one).
 */
export async function writeDurableTemp (path: string, data: string | Uint8Array, mode = 0o600): Promise<string> {
  const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`
  const fh = await open(tmp, 'wx', mode)
  try {
    await fh.writeFile(data)
    await fh.sync()
  } catch (err) {
    await fh.close().catch(() => {})
    await unlink(tmp).catch(() => {})
    throw err
  }
  await fh.close()
  return tmp
}

/** Replaces `path` with `data`: a crash leaves the old file or the new one, never a torn one. */
export async function writeFileAtomic (path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const tmp = await writeDurableTemp(path, data, mode)
  try {
    await rename(tmp, path)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
}

export async function writeJsonFile (path: string, value: unknown, mode = 0o600): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n', mode)
}
