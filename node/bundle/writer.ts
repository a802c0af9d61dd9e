/**
 * Writing a bundle to `<out>.partial`, then moving it to `out` once complete and synced:
 * a stick pulled out mid-write leaves no file under the bundle's name. An existing `out`
 * is refused unless `force` (a hard link, atomic, where the file system has them).
 */
import { access, link, open, rename, rm } from 'node:fs/promises'
import { encodeStoredChunk } from '../../protocol/index.ts'
import type { ChunkId } from '../../protocol/index.ts'
import { COMPRESSION_RAW, COMPRESSION_ZSTD, INDEX_ENTRY_BYTES } from './constants.ts'
import { BundleError } from './errors.ts'
import { encodeHeader, encodeIndexEntry } from './format.ts'

export interface BundleContents {
  root: Uint8Array
  parts: readonly Uint8Array[]
  chunks: ReadonlyArray<{ id: ChunkId, length: number }>
  /** the verified bytes of a chunk */
  read: (id: ChunkId) => Promise<Uint8Array>
}

export interface WriteBundleResult {
  fileBytes: number
  /** decoded bytes of the chunks written */
  chunkBytes: number
}

const exists = async (path: string): Promise<boolean> => await access(path).then(() => true, () => false)

function existsError (out: string): BundleError {
  return new BundleError('ERR_BUNDLE_EXISTS', `${out} exists; choose another name or pass --force to replace it`)
}

export async function writeBundle (out: string, contents: BundleContents, options: { force?: boolean, signal?: AbortSignal, onChunk?: (bytes: number) => void } = {}): Promise<WriteBundleResult> {
  if (options.force !== true && await exists(out)) throw existsError(out)
  const partial = `${out}.partial`
  const fh = await open(partial, 'w', 0o644)
  let closed = false
  try {
    const { root, parts, chunks } = contents
    const head = [encodeHeader({ rootBytes: root.length, partCount: parts.length, chunkCount: chunks.length }), root]
    const table = Buffer.alloc(4 * parts.length)
    parts.forEach((p, i) => table.writeUInt32BE(p.length, 4 * i))
    head.push(table, ...parts)
    let pos = 0
    for (const b of head) { await fh.write(b, 0, b.length, pos); pos += b.length }
    const indexAt = pos
    const index = new Uint8Array(INDEX_ENTRY_BYTES * chunks.length)
    pos += index.length
    let chunkBytes = 0
    for (const [i, c] of chunks.entries()) {
      options.signal?.throwIfAborted()
      const bytes = await contents.read(c.id)
      const stored = encodeStoredChunk(bytes)
      await fh.write(stored, 0, stored.length, pos)
      encodeIndexEntry({ id: c.id, offset: pos, storedBytes: stored.length, compression: stored === bytes ? COMPRESSION_RAW : COMPRESSION_ZSTD }, index, i * INDEX_ENTRY_BYTES)
      pos += stored.length
      chunkBytes += bytes.length
      options.onChunk?.(bytes.length)
    }
    await fh.write(index, 0, index.length, indexAt)
    await fh.sync()
    closed = true
    await fh.close()
    if (options.force === true) {
      await rename(partial, out)
    } else {
      try {
        await link(partial, out)
        await rm(partial, { force: true })
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if (code === 'EEXIST') throw existsError(out)
        // no hard links (FAT on a USB stick): check, then rename
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err
        if (await exists(out)) throw existsError(out)
        await rename(partial, out)
      }
    }
    return { fileBytes: pos, chunkBytes }
  } catch (err) {
    if (!closed) await fh.close().catch(() => {})
    await rm(partial, { force: true })
    throw err
  }
}

