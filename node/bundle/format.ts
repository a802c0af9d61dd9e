/**
 * The bundle file layout (format 1), pure: encoders for the writer and checked decoders
 * for the reader. All integers big-endian.
 *
 *   header   24 bytes: "BCBN", u8 format (1), u8 flags (0), u16 reserved (0),
 *            u32 rootBytes, u32 partCount, u32 chunkCount, u32 reserved (0)
 *   root     rootBytes: the signed manifest root, as the tracker serves it
 *   parts    partCount × u32 length, then the parts' bytes in that order
 *            (chunk-list parts; each is named by its SHA-256, checked on use)
 *   index    chunkCount × 48 bytes: 32-byte chunk id, u64 offset from the file's start,
 *            u32 stored length, u8 compression (0 raw, 1 zstd frame), 3 zero bytes
 *   payloads the stored chunks (zstd where that is smaller, as a chunk store keeps them)
 *
 * A bundle names no version M it was made against: it is whatever chunks it holds, and
 * the importer fills the rest from its own versions and the network.
 */
import type { ChunkId } from '../../protocol/index.ts'
import {
  BUNDLE_FORMAT_VERSION, BUNDLE_MAGIC, COMPRESSION_RAW, COMPRESSION_ZSTD, HEADER_BYTES, INDEX_ENTRY_BYTES,
  MAX_BUNDLE_CHUNKS, MAX_BUNDLE_PARTS, MAX_BUNDLE_ROOT_BYTES
} from './constants.ts'
import { BundleError } from './errors.ts'

export interface BundleHeader {
  rootBytes: number
  partCount: number
  chunkCount: number
}

export interface IndexEntry {
  id: ChunkId
  offset: number
  storedBytes: number
  compression: typeof COMPRESSION_RAW | typeof COMPRESSION_ZSTD
}

const malformed = (msg: string): BundleError => new BundleError('ERR_BUNDLE_MALFORMED', `not a valid bundle: ${msg}`)

export function encodeHeader (h: BundleHeader): Uint8Array {
  const buf = Buffer.alloc(HEADER_BYTES)
  buf.set(BUNDLE_MAGIC, 0)
  buf[4] = BUNDLE_FORMAT_VERSION
  buf.writeUInt32BE(h.rootBytes, 8)
  buf.writeUInt32BE(h.partCount, 12)
  buf.writeUInt32BE(h.chunkCount, 16)
  return buf
}

export function decodeHeader (bytes: Uint8Array): BundleHeader {
  if (bytes.length < HEADER_BYTES) throw new BundleError('ERR_BUNDLE_TRUNCATED', `bundle is ${bytes.length} bytes, shorter than its ${HEADER_BYTES}-byte header`)
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, HEADER_BYTES)
  for (let i = 0; i < BUNDLE_MAGIC.length; i++) if (b[i] !== BUNDLE_MAGIC[i]) throw malformed('bad magic (not a Branchcast bundle)')
  if (b[4] !== BUNDLE_FORMAT_VERSION) throw malformed(`unknown format version ${b[4]}`)
  if (b[5] !== 0 || b.readUInt16BE(6) !== 0 || b.readUInt32BE(20) !== 0) throw malformed('unknown flags or reserved bytes set')
  const h = { rootBytes: b.readUInt32BE(8), partCount: b.readUInt32BE(12), chunkCount: b.readUInt32BE(16) }
  if (h.rootBytes < 1 || h.rootBytes > MAX_BUNDLE_ROOT_BYTES) throw malformed(`manifest root of ${h.rootBytes} bytes`)
  if (h.partCount > MAX_BUNDLE_PARTS) throw malformed(`${h.partCount} list parts exceeds ${MAX_BUNDLE_PARTS}`)
  if (h.chunkCount > MAX_BUNDLE_CHUNKS) throw malformed(`${h.chunkCount} chunks exceeds ${MAX_BUNDLE_CHUNKS}`)
  return h
}

export function encodeIndexEntry (e: IndexEntry, out: Uint8Array, at: number): void {
  const b = Buffer.from(out.buffer, out.byteOffset + at, INDEX_ENTRY_BYTES)
  b.fill(0)
  b.write(e.id, 0, 32, 'hex')
  b.writeBigUInt64BE(BigInt(e.offset), 32)
  b.writeUInt32BE(e.storedBytes, 40)
  b[44] = e.compression
}

/**
 * One index entry, checked: its payload lies between `dataStart` and `fileBytes` (else
 * the bundle is truncated) and is 1..`maxStoredBytes` long (a stored chunk is never
 * larger than the chunk, and no chunk is larger than the manifest's maxBytes).
 */
export function decodeIndexEntry (bytes: Uint8Array, at: number, bounds: { dataStart: number, fileBytes: number, maxStoredBytes: number }): IndexEntry {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset + at, INDEX_ENTRY_BYTES)
  const id = b.toString('hex', 0, 32)
  const offset64 = b.readBigUInt64BE(32)
  const storedBytes = b.readUInt32BE(40)
  const compression = b[44]!
  if (b[45] !== 0 || b[46] !== 0 || b[47] !== 0) throw malformed(`index entry for ${id}: reserved bytes set`)
  if (compression !== COMPRESSION_RAW && compression !== COMPRESSION_ZSTD) throw malformed(`index entry for ${id}: unknown compression ${compression}`)
  if (storedBytes < 1 || storedBytes > bounds.maxStoredBytes) throw malformed(`index entry for ${id}: ${storedBytes} bytes outside 1..${bounds.maxStoredBytes}`)
  if (offset64 < BigInt(bounds.dataStart)) throw malformed(`index entry for ${id}: offset ${offset64} inside the header or index`)
  if (offset64 + BigInt(storedBytes) > BigInt(bounds.fileBytes)) {
    throw new BundleError('ERR_BUNDLE_TRUNCATED', `bundle is truncated: chunk ${id} ends at byte ${offset64 + BigInt(storedBytes)}, the file has ${bounds.fileBytes}`)
  }
  return { id, offset: Number(offset64), storedBytes, compression }
}
