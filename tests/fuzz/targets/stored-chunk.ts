/**
 * A stored chunk (protocol/store/chunk-codec.ts `decodeStoredChunk`): raw bytes or one zstd
 * frame, decoded with an output cap. Each input is offered under the id of its own bytes,
 * so every zstd frame is decompressed (what the guards watch: CPU and memory per input)
 * and the raw reading must then always succeed — a raw chunk that happens to look like
 * zstd still decodes.
 */
import { zstdCompressSync } from 'node:zlib'
import { ZSTD_MAGIC, decodeStoredChunk, encodeStoredChunk } from '../../../protocol/store/chunk-codec.ts'
import { chunkId } from '../../../protocol/store/chunk-id.ts'
import { check, refusal } from '../target.ts'
import type { FuzzTarget } from '../target.ts'
import { text } from './fixtures.ts'

/** Frame headers: no content size and each window size from 1 KiB to 2 GiB, then one raw last block. */
const WINDOW_FRAMES = [0x00, 0x58, 0x68, 0x88, 0x90, 0xf8].map((w) => Uint8Array.of(...ZSTD_MAGIC, 0x00, w, 0x09, 0x00, 0x00, 0x41))
/**
 * RLE blocks expand four bytes into 128 KiB: the cheapest way to ask for a large output.
 * `blocks` + 1 of them behind window descriptor `w` (0x60: 4 MiB, the most a chunk may use).
 */
const rleFrame = (w: number, blocks: number): Uint8Array =>
  Uint8Array.of(...ZSTD_MAGIC, 0x00, w, ...Array.from({ length: blocks }, () => [0x02, 0x00, 0x10, 0x41]).flat(), 0x03, 0x00, 0x10, 0x41)

export const storedChunkTarget: FuzzTarget = {
  name: 'stored-chunk',
  decoder: 'decodeStoredChunk (protocol/store/chunk-codec.ts)',
  seeds: () => [
    encodeStoredChunk(text('hello chunk '.repeat(400))),
    encodeStoredChunk(new Uint8Array(65536)),
    new Uint8Array(zstdCompressSync(Uint8Array.from({ length: 3000 }, (_, i) => (i * i) & 0xff))),
    Uint8Array.from({ length: 1024 }, (_, i) => (i * 2654435761) >>> 24),
    Uint8Array.of(...ZSTD_MAGIC, 1, 2, 3),
    Uint8Array.of(0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4, ...ZSTD_MAGIC),
    ...WINDOW_FRAMES,
    rleFrame(0x88, 40),
    rleFrame(0x60, 30), // 3.9 MiB: decodes (to bytes of another id)
    rleFrame(0x60, 40) // 5.1 MiB: over the output cap
  ],
  dictionary: () => [ZSTD_MAGIC, Uint8Array.of(0x50, 0x2a, 0x4d, 0x18), Uint8Array.of(0x02, 0x00, 0x10), Uint8Array.of(0xff, 0xff, 0xff, 0xff)],
  run (input) {
    const id = chunkId(input)
    let out
    try {
      out = decodeStoredChunk(id, input)
    } catch (err) {
      return refusal(err)
    }
    check(out === input || chunkId(out) === id, 'returned bytes that do not hash to the id')
    return out === input ? 'ok raw' : 'ok zstd'
  }
}
