/** Limits of the bundle format and its reader; every length read from a bundle is checked against one. */
import { MAX_CHUNK_COUNT, MAX_MANIFEST_BYTES, MAX_MANIFEST_PARTS, MAX_PART_BYTES } from '../../protocol/index.ts'

/** "BCBN": a Branchcast bundle. */
export const BUNDLE_MAGIC: Readonly<Uint8Array> = Uint8Array.of(0x42, 0x43, 0x42, 0x4e)
export const BUNDLE_FORMAT_VERSION = 1
/** magic, format, flags, reserved u16, then u32 rootBytes, partCount, chunkCount, reserved */
export const HEADER_BYTES = 24
/** 32-byte id, u64 offset, u32 stored length, u8 compression, 3 reserved zero bytes */
export const INDEX_ENTRY_BYTES = 48
export const COMPRESSION_RAW = 0
export const COMPRESSION_ZSTD = 1
/** The signed root: never larger than any valid manifest. */
export const MAX_BUNDLE_ROOT_BYTES = MAX_MANIFEST_BYTES
/** A bundle carries at most the manifest's parts, each at most a valid part's size. */
export const MAX_BUNDLE_PARTS = MAX_MANIFEST_PARTS
export const MAX_BUNDLE_PART_BYTES = MAX_PART_BYTES
/** At most one entry per chunk of the manifest (checked against its chunkCount too). */
export const MAX_BUNDLE_CHUNKS = MAX_CHUNK_COUNT
/** The index is read in slices of this many entries, so a large one is never one allocation. */
export const INDEX_READ_ENTRIES = 4096
