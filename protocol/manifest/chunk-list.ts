/**
 * The ordered chunk list of an image, stored as content-defined "list parts".
 *
 * A 64 GiB image at ~64 KiB per chunk has about a million entries (~35 MB of list), too
 * much to fetch again for every update. So the list is cut into parts after entries whose
 * chunk id has enough leading zero bits (ids are SHA-256, hence uniform): a boundary
 * depends only on the entry and the count since the last cut, so an edit changes the parts
 * around it and every later part is byte-identical. Each part is an ordinary chunk in the
 * chunk store (id = SHA-256 of its bytes) and the signed manifest names the parts in order.
 *
 * Part wire format: magic `BCL` + format byte 0x01, then per entry the 32 raw bytes of the
 * chunk id and the chunk length as a canonical unsigned LEB128 varint. Nothing else: the
 * entry count and byte length are recorded (and signed) in the manifest.
 */
import { chunkId, isChunkId } from '../store/chunk-id.ts'
import type { ChunkId } from '../store/chunk-id.ts'
import { MAX_CHUNK_BYTES_CEILING } from '../chunking/chunking-params.ts'
import { ChunkCorruptError, ManifestMalformedError } from '../errors.ts'
import type { Manifest } from './manifest.ts'
import { readVarint, varintLength, writeVarint } from '../wire/varint.ts'

export const LIST_PART_MAGIC: Readonly<Uint8Array> = Uint8Array.of(0x42, 0x43, 0x4c, 0x01) // "BCL" v1
/**
 * Normalized cutting, as FastCDC does for bytes: past `MIN_PART_ENTRIES` a part closes
 * after an id with `PART_CUT_BITS_SMALL` leading zero bits (1 in 1024) until it reaches
 * `TARGET_PART_ENTRIES`, then after one with `PART_CUT_BITS_LARGE` (1 in 64). Sizes bunch
 * around ~280 entries (~10 KiB): an edit lands in a part of about average size (a single
 * mask makes the part an edit hits twice the mean, since long parts catch more edits).
 * bench/RESULTS.md "Manifests" has the measurements behind these numbers.
 */
export const PART_CUT_BITS_SMALL = 10
export const PART_CUT_BITS_LARGE = 6
/** No cut before this many entries, so runs of cut-matching ids cannot make tiny parts. */
export const MIN_PART_ENTRIES = 32
export const TARGET_PART_ENTRIES = 256
/**
 * Forced cut; also the most entries a decoder accepts in one part. Random ids reach it
 * about never (< 10^-6 of parts); runs of one repeated id (zero-filled disk) do.
 */
export const MAX_PART_ENTRIES = 1024
const ID_BYTES = 32
/** An id plus the varint of a length up to `MAX_CHUNK_BYTES_CEILING` (4 MiB → 4 bytes). */
export const MAX_ENTRY_BYTES = ID_BYTES + varintLength(MAX_CHUNK_BYTES_CEILING)
export const MIN_ENTRY_BYTES = ID_BYTES + 1
/** Largest part a reader accepts (~36 KiB): callers cap their fetch at this. */
export const MAX_PART_BYTES = LIST_PART_MAGIC.length + MAX_PART_ENTRIES * MAX_ENTRY_BYTES

/** A chunk as the list names it. */
export interface ChunkRef {
  id: ChunkId
  length: number
}

/** One encoded part: store `bytes` under `id` like any chunk; the manifest records `entries`. */
export interface ListPart {
  id: ChunkId
  bytes: Uint8Array
  entries: number
}

export interface ChunkListBuilder {
  /** Appends an entry; returns the part this entry closed, if it closed one. */
  add: (ref: ChunkRef) => ListPart | undefined
  /** Closes the last, possibly short, part; undefined when nothing is pending. */
  finish: () => ListPart | undefined
}

/**
 * Streaming builder: parts are handed out as they close, so the tracker never holds a
 * million-entry list. Feed it the chunker's output in image order.
 */
export function createChunkListBuilder (): ChunkListBuilder {
  const buf = new Uint8Array(MAX_PART_BYTES)
  buf.set(LIST_PART_MAGIC, 0)
  let pos = LIST_PART_MAGIC.length
  let entries = 0
  let finished = false

  const close = (): ListPart => {
    const bytes = buf.slice(0, pos)
    const part = { id: chunkId(bytes), bytes, entries }
    pos = LIST_PART_MAGIC.length
    entries = 0
    return part
  }

  return {
    add (ref) {
      if (finished) throw new TypeError('chunk list builder already finished')
      if (!isChunkId(ref?.id)) throw new TypeError(`not a chunk id: ${String(ref?.id)}`)
      if (!Number.isSafeInteger(ref.length) || ref.length < 1 || ref.length > MAX_CHUNK_BYTES_CEILING) {
        throw new TypeError(`chunk length ${ref.length} outside 1..${MAX_CHUNK_BYTES_CEILING}`)
      }
      buf.set(Buffer.from(ref.id, 'hex'), pos)
      pos = writeVarint(buf, pos + ID_BYTES, ref.length)
      entries++
      if (isCutPoint(ref.id, entries)) return close()
      return undefined
    },
    finish () {
      finished = true
      return entries > 0 ? close() : undefined
    }
  }
}

/** Whether a part holding `entries` entries, the last with this id, closes here. Depends on nothing else, so cuts resynchronise. */
export function isCutPoint (id: ChunkId, entries: number): boolean {
  if (entries >= MAX_PART_ENTRIES) return true
  if (entries < MIN_PART_ENTRIES) return false
  // The first 3 hex digits are 12 bits; the cut wants the top `bits` of them zero.
  const bits = entries < TARGET_PART_ENTRIES ? PART_CUT_BITS_SMALL : PART_CUT_BITS_LARGE
  return (Number.parseInt(id.slice(0, 3), 16) >>> (12 - bits)) === 0
}

/**
 * Decodes one part. With `expectedId`, checks SHA-256 first (→ ChunkCorruptError: whoever
 * sent the bytes lied). Anything unparsable → ManifestMalformedError.
 */
export function decodeListPart (bytes: Uint8Array, expectedId?: ChunkId): ChunkRef[] {
  if (expectedId !== undefined) {
    if (!isChunkId(expectedId)) throw new TypeError('expectedId is not a chunk id')
    if (chunkId(bytes) !== expectedId) throw new ChunkCorruptError(`list part does not hash to ${expectedId}`)
  }
  if (bytes.length > MAX_PART_BYTES) throw new ManifestMalformedError(`list part of ${bytes.length} bytes exceeds ${MAX_PART_BYTES}`)
  for (let i = 0; i < LIST_PART_MAGIC.length; i++) {
    if (bytes[i] !== LIST_PART_MAGIC[i]) throw new ManifestMalformedError('not a list part (bad magic or format version)')
  }
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const refs: ChunkRef[] = []
  let pos = LIST_PART_MAGIC.length
  try {
    while (pos < bytes.length) {
      if (refs.length === MAX_PART_ENTRIES) throw new RangeError(`more than ${MAX_PART_ENTRIES} entries`)
      if (pos + ID_BYTES > bytes.length) throw new RangeError('entry id runs past the end')
      const id = view.toString('hex', pos, pos + ID_BYTES)
      const [length, next] = readVarint(bytes, pos + ID_BYTES, MAX_CHUNK_BYTES_CEILING)
      if (length === 0) throw new RangeError('zero-length chunk')
      refs.push({ id, length })
      pos = next
    }
  } catch (err) {
    if (err instanceof RangeError) throw new ManifestMalformedError(`list part: ${err.message} at byte ${pos}`, { cause: err })
    throw err
  }
  if (refs.length === 0) throw new ManifestMalformedError('empty list part')
  return refs
}

export type FetchPart = (id: ChunkId, opts: { signal?: AbortSignal, maxBytes?: number }) => Promise<Uint8Array>

export interface ReadChunkListOptions {
  signal?: AbortSignal
  /** Parts fetched ahead of the consumer (default 4): parts are small, round trips are not. */
  prefetch?: number
}

/**
 * Streams a manifest's chunk list in image order, each entry with its byte offset.
 * `fetchPart` gets `maxBytes` (the part's signed size) so it can cap the read. Every part
 * is hash-checked (ChunkCorruptError: the source lied); a part whose entry count, chunk
 * lengths or running offset disagree with the signed manifest → ManifestMalformedError.
 * Stopping early aborts fetches still in flight.
 */
export async function * readChunkList (manifest: Manifest, fetchPart: FetchPart, opts: ReadChunkListOptions = {}): AsyncGenerator<ChunkRef & { offset: number }> {
  const prefetch = opts.prefetch ?? 4
  if (!Number.isSafeInteger(prefetch) || prefetch < 1) throw new TypeError('prefetch must be a positive integer')
  const { parts, chunking, totalBytes, chunkCount } = manifest
  const controller = new AbortController()
  const signal = opts.signal === undefined ? controller.signal : AbortSignal.any([opts.signal, controller.signal])
  const inflight: Array<Promise<Uint8Array>> = []
  let launched = 0
  let offset = 0
  let count = 0
  try {
    for (let i = 0; i < parts.length; i++) {
      opts.signal?.throwIfAborted()
      while (launched < parts.length && launched < i + prefetch) {
        const part = parts[launched++]
        const pending = (async () => await fetchPart(part.id, { signal, maxBytes: part.bytes }))()
        pending.catch(() => {}) // awaited in order below; this only stops an unhandled rejection if we stop first
        inflight.push(pending)
      }
      const part = parts[i]
      const bytes = await (inflight.shift() as Promise<Uint8Array>)
      const refs = decodeListPart(bytes, part.id)
      if (bytes.length !== part.bytes) throw new ManifestMalformedError(`list part ${i} is ${bytes.length} bytes, manifest says ${part.bytes}`)
      if (refs.length !== part.entries) throw new ManifestMalformedError(`list part ${i} has ${refs.length} entries, manifest says ${part.entries}`)
      for (const ref of refs) {
        if (ref.length > chunking.maxBytes) throw new ManifestMalformedError(`chunk ${count} is ${ref.length} bytes, above the manifest's maxBytes ${chunking.maxBytes}`)
        if (offset + ref.length > totalBytes) throw new ManifestMalformedError(`chunk list runs past the image's ${totalBytes} bytes`)
        yield { id: ref.id, length: ref.length, offset }
        offset += ref.length
        count++
      }
    }
    if (count !== chunkCount) throw new ManifestMalformedError(`chunk list has ${count} entries, manifest says ${chunkCount}`)
    if (offset !== totalBytes) throw new ManifestMalformedError(`chunk lengths sum to ${offset}, manifest says ${totalBytes}`)
  } finally {
    controller.abort()
  }
}
