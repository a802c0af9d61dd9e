/**
 * A chunk file as an HTTP response: the stored bytes as they are on disk (raw or one zstd
 * frame; clients decode with `decodeStoredChunk`), streamed, with immutable caching, a
 * strong ETag (the chunk id: the content never changes under it) and single byte ranges.
 */
import { open } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import type { ChunkId } from '../../protocol/index.ts'
import { IMMUTABLE_CACHE_CONTROL, ORIGIN_READ_BYTES } from './constants.ts'
import { decideRange } from './range.ts'

export interface ChunkResponseInit {
  /** absolute path of the stored file (`chunks.pathOf(id)`) */
  path: string
  id: ChunkId
  head: boolean
  range?: string
  ifNoneMatch?: string
  ifRange?: string
  /** called with each run of bytes actually handed to the client */
  onBytes?: (n: number) => void
}

/** A stream over `[start, end]` of an open file; closes the handle when done or cancelled. */
function fileStream (fh: FileHandle, start: number, end: number, onBytes?: (n: number) => void): ReadableStream<Uint8Array> {
  let pos = start
  let closed = false
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    await fh.close()
  }
  return new ReadableStream<Uint8Array>({
    async pull (controller) {
      try {
        const want = Math.min(ORIGIN_READ_BYTES, end + 1 - pos)
        if (want <= 0) { await close(); controller.close(); return }
        const buf = new Uint8Array(want)
        const { bytesRead } = await fh.read(buf, 0, want, pos)
        // A file shrinking under us is not possible for a store file (written by rename);
        // end the body short rather than loop, and let Content-Length expose it.
        if (bytesRead === 0) { await close(); controller.close(); return }
        pos += bytesRead
        onBytes?.(bytesRead)
        controller.enqueue(bytesRead === want ? buf : buf.subarray(0, bytesRead))
      } catch (err) {
        await close().catch(() => {})
        controller.error(err)
      }
    },
    async cancel () { await close() }
  }, { highWaterMark: 0 })
}

function etagMatches (header: string, etag: string): boolean {
  if (header.trim() === '*') return true
  // weak comparison for If-None-Match (RFC 9110 §13.1.2)
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)
}

/** The response for a chunk, or undefined when the store has no file for it. */
export async function chunkResponse (init: ChunkResponseInit): Promise<Response | undefined> {
  let fh: FileHandle
  try {
    fh = await open(init.path, 'r')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw err
  }
  let handedOff = false
  try {
    const { size } = await fh.stat()
    const etag = `"${init.id}"`
    const headers = new Headers({
      'content-type': 'application/octet-stream',
      'cache-control': IMMUTABLE_CACHE_CONTROL,
      etag,
      'accept-ranges': 'bytes'
    })
    if (init.ifNoneMatch !== undefined && etagMatches(init.ifNoneMatch, etag)) return new Response(null, { status: 304, headers })

    // If-Range with another validator: the client's partial copy is of something else.
    const range = init.ifRange === undefined || init.ifRange.trim() === etag ? decideRange(init.range, size) : { kind: 'full' as const }
    if (range.kind === 'unsatisfiable') {
      headers.set('content-range', `bytes */${size}`)
      headers.set('content-length', '0')
      return new Response(null, { status: 416, headers })
    }
    const [start, end, status] = range.kind === 'partial' ? [range.start, range.end, 206] : [0, size - 1, 200]
    if (range.kind === 'partial') headers.set('content-range', `bytes ${start}-${end}/${size}`)
    headers.set('content-length', String(end + 1 - start))
    if (init.head || end < start) return new Response(init.head ? null : new Uint8Array(0), { status, headers })
    handedOff = true
    return new Response(fileStream(fh, start, end, init.onBytes), { status, headers })
  } finally {
    if (!handedOff) await fh.close()
  }
}
