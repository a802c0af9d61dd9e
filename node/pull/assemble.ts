/**
 * Assembling a pulled image from the chunk cache: chunks written at their offsets into
 * `<path>.partial` (all-zero chunks skipped, so the file stays sparse), the whole hashed on
 * the way and checked against the manifest's image SHA-256, fsynced, then renamed into
 * place — the rename is the "ready" mark, so a half-assembled image is never presented.
 */
import { createHash } from 'node:crypto'
import { open, rename, rm } from 'node:fs/promises'
import type { ChunkStore } from '../../protocol/index.ts'
import { ChunkCorruptError } from '../../protocol/index.ts'
import type { ChunkTable } from './chunk-table.ts'

/** Writes are coalesced into runs up to this size: fewer syscalls than one per chunk. */
const WRITE_RUN_BYTES = 4 * 1024 * 1024

function isZero (bytes: Uint8Array): boolean {
  // 8 bytes at a time where aligned; images are mostly non-zero, so this exits early.
  const words = bytes.byteOffset % 8 === 0 ? new BigUint64Array(bytes.buffer, bytes.byteOffset, bytes.length >> 3) : undefined
  if (words !== undefined) { for (const w of words) if (w !== 0n) return false } else { for (let i = 0; i < bytes.length - (bytes.length % 8); i++) if (bytes[i] !== 0) return false }
  for (let i = bytes.length - (bytes.length % 8); i < bytes.length; i++) if (bytes[i] !== 0) return false
  return true
}

export interface AssembleOptions {
  chunks: ChunkStore
  table: ChunkTable
  totalBytes: number
  /** final path; `<path>.partial` is used while writing */
  path: string
  /** whole-image SHA-256 from the signed manifest, when it has one */
  expectSha256?: string
  signal?: AbortSignal
  onProgress?: (doneBytes: number) => void
}

export async function assembleImage (options: AssembleOptions): Promise<{ sha256: string }> {
  const { chunks, table, totalBytes, path, signal } = options
  const partial = `${path}.partial`
  const hash = createHash('sha256')
  const fh = await open(partial, 'w', 0o600)
  let ok = false
  try {
    await fh.truncate(totalBytes)
    let run: Uint8Array[] = []
    let runStart = 0
    let runBytes = 0
    const flush = async (): Promise<void> => {
      if (runBytes === 0) return
      await fh.writev(run, runStart)
      run = []
      runBytes = 0
    }
    for (let i = 0; i < table.ids.length; i++) {
      signal?.throwIfAborted()
      const bytes = await chunks.get(table.ids[i]!, { signal })
      if (bytes.length !== table.lengths[i]) throw new ChunkCorruptError(`chunk ${i} has ${bytes.length} bytes, the manifest says ${table.lengths[i]}`, { peerFault: false })
      hash.update(bytes)
      if (isZero(bytes)) {
        await flush() // leave a hole
      } else {
        if (runBytes === 0) runStart = table.offsets[i]!
        run.push(bytes)
        runBytes += bytes.length
        if (runBytes >= WRITE_RUN_BYTES) await flush()
      }
      options.onProgress?.(table.offsets[i]! + bytes.length)
    }
    await flush()
    await fh.sync()
    const sha256 = hash.digest('hex')
    if (options.expectSha256 !== undefined && sha256 !== options.expectSha256) {
      throw new ChunkCorruptError(`assembled image hashes to ${sha256}, the manifest says ${options.expectSha256}`, { peerFault: false })
    }
    ok = true
    await fh.close()
    await rename(partial, path)
    return { sha256 }
  } finally {
    if (!ok) {
      await fh.close().catch(() => {})
      await rm(partial, { force: true })
    }
  }
}
