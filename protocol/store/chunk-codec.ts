/**
 * How a chunk is laid out in a stored file, the one rule every reader of a chunk store
 * shares: the store itself, and any HTTP client of an origin that serves the store's
 * directory as plain files (nginx, IIS). A stored file is self-describing:
 *
 * - either the raw chunk bytes,
 * - or a single zstd frame of them, written only when it is strictly smaller.
 *
 * The reader needs no flag or file extension: a file that starts with the zstd magic
 * number is first tried as zstd (output capped, so a hostile frame cannot expand into
 * gigabytes) and accepted only if the SHA-256 of the result is the chunk id; otherwise,
 * or if that fails, the raw bytes are accepted only if their own SHA-256 is the id. A raw
 * chunk that happens to start with the magic therefore still decodes: a SHA-256 match on
 * the wrong interpretation would be a hash collision.
 *
 * Both functions are synchronous and pure (no I/O): chunks are tens of KiB, where zstd
 * and SHA-256 take microseconds and a thread-pool round trip would cost more.
 */
import { constants as zlibConstants, zstdCompressSync, zstdDecompressSync } from 'node:zlib'
import { chunkId, isChunkId } from './chunk-id.ts'
import type { ChunkId } from './chunk-id.ts'
import { MAX_CHUNK_BYTES_CEILING } from '../chunking/chunking-params.ts'
import { ChunkCorruptError } from '../errors.ts'
import type { BranchcastErrorOptions } from '../errors.ts'

/** The zstd frame magic number, 0xFD2FB528 little-endian. */
export const ZSTD_MAGIC: Readonly<Uint8Array> = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd)

export function startsWithZstdMagic (bytes: Uint8Array): boolean {
  return bytes.byteLength >= 4 && bytes[0] === 0x28 && bytes[1] === 0xb5 && bytes[2] === 0x2f && bytes[3] === 0xfd
}

/**
 * The largest zstd window a chunk of `maxBytes` needs: `maxBytes` rounded up to a power of
 * two (zstd's floor is 2^10). zstd allocates the window a frame header asks for, up to
 * 128 MiB by default, before it decodes a byte: a 10-byte hostile frame cost 0.5 ms of CPU
 * and one of 170 bytes that expands to the output cap 7.5 ms, mostly in faulting in fresh
 * pages (1.6 ms with a 4 MiB window). Our encoder's frames declare their content size as
 * the window, so this refuses none of them.
 */
export function zstdWindowLogMax (maxBytes: number): number {
  return Math.min(31, Math.max(10, Math.ceil(Math.log2(maxBytes))))
}

export interface EncodeStoredChunkOptions {
  /** false stores the raw bytes whatever their content; default true */
  compress?: boolean
}

/**
 * The bytes to write for a chunk: a zstd frame of it when that is strictly smaller,
 * otherwise the chunk itself (returned as is, not copied).
 */
export function encodeStoredChunk (bytes: Uint8Array, options: EncodeStoredChunkOptions = {}): Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('chunk bytes must be a Uint8Array')
  if (options.compress === false || bytes.byteLength === 0) return bytes
  const frame = zstdCompressSync(bytes)
  return frame.byteLength < bytes.byteLength ? frame : bytes
}

export interface DecodeStoredChunkOptions {
  /**
   * Largest chunk accepted, in bytes (default `MAX_CHUNK_BYTES_CEILING`, 4 MiB). Caps zstd's
   * output and window, so a small hostile frame cannot expand into memory, and refuses a
   * larger raw file.
   */
  maxBytes?: number
  /** passed to the ChunkCorruptError: `peerFault: false` when the bytes came from our own disk */
  errorOptions?: BranchcastErrorOptions
}

/**
 * The verified chunk held by a stored file (raw or one zstd frame, see the module comment).
 * Returns `stored` itself when it is the raw chunk. Throws `ChunkCorruptError` when neither
 * reading hashes to `id`, and `TypeError` for a malformed id or options.
 */
export function decodeStoredChunk (id: ChunkId, stored: Uint8Array, options: DecodeStoredChunkOptions = {}): Uint8Array {
  if (!isChunkId(id)) throw new TypeError('not a chunk id')
  if (!(stored instanceof Uint8Array)) throw new TypeError('stored bytes must be a Uint8Array')
  const maxBytes = options.maxBytes ?? MAX_CHUNK_BYTES_CEILING
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new TypeError('maxBytes must be a positive integer')

  let zstdFailure: unknown
  if (startsWithZstdMagic(stored)) {
    try {
      const out = zstdDecompressSync(stored, { maxOutputLength: maxBytes, params: { [zlibConstants.ZSTD_d_windowLogMax]: zstdWindowLogMax(maxBytes) } })
      if (chunkId(out) === id) return out
    } catch (err) {
      // not a (complete, small enough) frame: fall through to the raw reading
      zstdFailure = err
    }
  }
  if (stored.byteLength <= maxBytes && chunkId(stored) === id) return stored
  throw new ChunkCorruptError(`stored chunk ${id} does not hash to its id`, {
    ...(zstdFailure === undefined ? {} : { cause: zstdFailure }),
    ...options.errorOptions
  })
}
