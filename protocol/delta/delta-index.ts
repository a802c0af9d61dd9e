/**
 * The delta index of a version: which of its chunks have deltas against which base chunks,
 * signed by the repository key and named by the digest of the manifest it serves, so any
 * static HTTP origin serves it as a plain file next to the chunks and a node finds it
 * from the manifest it already verified — without any change to the manifest, so old
 * nodes never see it.
 *
 * Store layout (relative to the chunk store's root, the origin's document root):
 *
 *   delta-indexes/<2 hex>/<64 hex manifest digest>   this object
 *   deltas/<2 hex>/<64 hex target id>-<16 hex key>    one delta (delta-codec.ts); key = `deltaKey(bases)`
 *
 * A delta's path follows from its target and bases, so the index names no delta id; the
 * delta file is self-describing and checked against both when applied.
 *
 * Wire format (varints as in manifest.ts):
 *
 *   "BCDX"         magic, 4 bytes
 *   0x01           format version
 *   16 bytes       signing key id
 *   32 bytes       manifest digest (SHA-256 of the signed manifest root)
 *   varint n       entries, 0..MAX_DELTA_INDEX_ENTRIES
 *   n × (32 bytes target id, varint delta bytes 1..MAX, u8 k 1..MAX_DELTA_BASES, k × 32 bytes base id)
 *                  strictly increasing by (target, bases), bases distinct and not the target
 *   64 bytes       Ed25519 signature over every byte before it
 */
import { createHash } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { isChunkId } from '../store/chunk-id.ts'
import type { ChunkId } from '../store/chunk-id.ts'
import { DeltaIndexMalformedError, DeltaIndexTamperedError } from '../errors.ts'
import { KEY_ID_BYTES, SIGNATURE_BYTES, keyId as keyIdOf, signBytes, verifyBytes } from '../signing/signing.ts'
import { readVarint, varintLength, writeVarint } from '../wire/varint.ts'
import { MAX_DELTA_BASES, MAX_DELTA_FRAME_BYTES, MAX_DELTA_INDEX_ENTRIES } from './constants.ts'
import { DELTA_CHECK_BYTES } from './delta-codec.ts'

export const DELTA_INDEX_MAGIC: Readonly<Uint8Array> = Uint8Array.of(0x42, 0x43, 0x44, 0x58) // "BCDX"
export const DELTA_INDEX_FORMAT_VERSION = 1
const ID_BYTES = 32
/** Largest delta file an index may announce: header of MAX_DELTA_BASES bases, the largest frame, the check. */
export const MAX_DELTA_BYTES = 4 + 1 + ID_BYTES + 3 + 1 + MAX_DELTA_BASES * (ID_BYTES + 3) + MAX_DELTA_FRAME_BYTES + DELTA_CHECK_BYTES
const MAX_ENTRY_BYTES = ID_BYTES + varintLength(MAX_DELTA_BYTES) + 1 + MAX_DELTA_BASES * ID_BYTES
/** The largest index a reader accepts: cap the HTTP read of an index at this. */
export const MAX_DELTA_INDEX_BYTES = 4 + 1 + KEY_ID_BYTES + ID_BYTES + varintLength(MAX_DELTA_INDEX_ENTRIES) + MAX_DELTA_INDEX_ENTRIES * MAX_ENTRY_BYTES + SIGNATURE_BYTES

export interface DeltaIndexEntry {
  target: ChunkId
  /** size of the delta file */
  deltaBytes: number
  /** in dictionary order */
  bases: ChunkId[]
}

export interface DeltaIndex {
  /** the manifest this index serves (`manifestDigest` of its root) */
  manifestDigest: string
  keyId: string
  entries: DeltaIndexEntry[]
}

/** 16 hex digits naming a base list: first 8 bytes of SHA-256 over the base ids in order. */
export function deltaKey (bases: readonly ChunkId[]): string {
  const h = createHash('sha256')
  for (const b of bases) h.update(Buffer.from(b, 'hex'))
  return h.digest('hex').slice(0, 16)
}

/** Relative path of a delta in the store: `deltas/<2 hex>/<target>-<key>`. */
export function deltaPath (target: ChunkId, bases: readonly ChunkId[]): string {
  if (!isChunkId(target) || bases.length < 1 || !bases.every(isChunkId)) throw new TypeError('deltaPath needs chunk ids')
  return `deltas/${target.slice(0, 2)}/${target}-${deltaKey(bases)}`
}

export const DELTA_FILE_RE = /^([0-9a-f]{64})-([0-9a-f]{16})$/

/** Relative path of a version's delta index: `delta-indexes/<2 hex>/<manifest digest>`. */
export function deltaIndexPath (manifestDigest: string): string {
  if (!isChunkId(manifestDigest)) throw new TypeError('not a manifest digest')
  return `delta-indexes/${manifestDigest.slice(0, 2)}/${manifestDigest}`
}

function compareEntries (a: DeltaIndexEntry, b: DeltaIndexEntry): number {
  if (a.target !== b.target) return a.target < b.target ? -1 : 1
  const ka = a.bases.join('')
  const kb = b.bases.join('')
  return ka < kb ? -1 : ka > kb ? 1 : 0
}

function checkEntry (e: DeltaIndexEntry, fail: (why: string) => never): void {
  if (!isChunkId(e.target)) fail('target is not a chunk id')
  if (!Number.isSafeInteger(e.deltaBytes) || e.deltaBytes < 1 || e.deltaBytes > MAX_DELTA_BYTES) fail(`delta size ${e.deltaBytes} out of range`)
  if (!Array.isArray(e.bases) || e.bases.length < 1 || e.bases.length > MAX_DELTA_BASES) fail(`${e.bases?.length} bases, allowed 1..${MAX_DELTA_BASES}`)
  const seen = new Set<string>([e.target])
  for (const b of e.bases) {
    if (!isChunkId(b) || seen.has(b)) fail('bases must be distinct chunk ids other than the target')
    seen.add(b)
  }
}

/** Encodes and signs. Entries are sorted here; duplicates and bad entries are TypeErrors. */
export function encodeDeltaIndex (index: Omit<DeltaIndex, 'keyId'>, privateKey: KeyObject): Uint8Array {
  if (!isChunkId(index.manifestDigest)) throw new TypeError('manifestDigest must be 64 lowercase hex')
  if (index.entries.length > MAX_DELTA_INDEX_ENTRIES) throw new TypeError(`more than ${MAX_DELTA_INDEX_ENTRIES} entries`)
  const entries = [...index.entries].sort(compareEntries)
  let size = 4 + 1 + KEY_ID_BYTES + ID_BYTES + varintLength(entries.length) + SIGNATURE_BYTES
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]
    checkEntry(e, (why) => { throw new TypeError(`delta index: ${why}`) })
    if (i > 0 && compareEntries(entries[i - 1], e) === 0) throw new TypeError('delta index: duplicate entry')
    size += ID_BYTES + varintLength(e.deltaBytes) + 1 + e.bases.length * ID_BYTES
  }
  const buf = new Uint8Array(size)
  buf.set(DELTA_INDEX_MAGIC, 0)
  buf[4] = DELTA_INDEX_FORMAT_VERSION
  buf.set(Buffer.from(keyIdOf(privateKey), 'hex'), 5)
  let pos = 5 + KEY_ID_BYTES
  buf.set(Buffer.from(index.manifestDigest, 'hex'), pos)
  pos = writeVarint(buf, pos + ID_BYTES, entries.length)
  for (const e of entries) {
    buf.set(Buffer.from(e.target, 'hex'), pos)
    pos = writeVarint(buf, pos + ID_BYTES, e.deltaBytes)
    buf[pos++] = e.bases.length
    for (const b of e.bases) { buf.set(Buffer.from(b, 'hex'), pos); pos += ID_BYTES }
  }
  buf.set(signBytes(privateKey, buf.subarray(0, pos)), pos)
  return buf
}

/** Parses without checking the signature (inspection, GC of our own files). Throws DeltaIndexMalformedError. */
export function decodeDeltaIndex (bytes: Uint8Array): DeltaIndex {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('delta index bytes must be a Uint8Array')
  const fail = (why: string): never => { throw new DeltaIndexMalformedError(`delta index: ${why}`) }
  if (bytes.byteLength > MAX_DELTA_INDEX_BYTES) fail(`${bytes.byteLength} bytes exceeds ${MAX_DELTA_INDEX_BYTES}`)
  const end = bytes.byteLength - SIGNATURE_BYTES
  const need = (pos: number, n: number): void => { if (pos + n > end) fail('truncated') }
  const hex = (pos: number): string => Buffer.from(bytes.buffer, bytes.byteOffset + pos, ID_BYTES).toString('hex')
  const varint = (pos: number, max: number, what: string): [number, number] => {
    try { return readVarint(bytes.subarray(0, end), pos, max) } catch (err) { return fail(`${what}: ${(err as Error).message}`) }
  }
  need(0, 5 + KEY_ID_BYTES + ID_BYTES)
  for (let i = 0; i < 4; i++) if (bytes[i] !== DELTA_INDEX_MAGIC[i]) fail('bad magic')
  if (bytes[4] !== DELTA_INDEX_FORMAT_VERSION) fail(`unknown format version ${bytes[4]}`)
  const keyId = Buffer.from(bytes.buffer, bytes.byteOffset + 5, KEY_ID_BYTES).toString('hex')
  let pos = 5 + KEY_ID_BYTES
  const manifestDigest = hex(pos)
  let n: number
  ;[n, pos] = varint(pos + ID_BYTES, MAX_DELTA_INDEX_ENTRIES, 'entry count')
  // each entry takes at least 66 bytes: refuse a count the bytes cannot hold before allocating
  if (n * (2 * ID_BYTES + 2) > end - pos) fail(`${n} entries cannot fit in ${end - pos} bytes`)
  const entries: DeltaIndexEntry[] = []
  for (let i = 0; i < n; i++) {
    need(pos, ID_BYTES)
    const target = hex(pos)
    let deltaBytes: number
    ;[deltaBytes, pos] = varint(pos + ID_BYTES, MAX_DELTA_BYTES, 'delta size')
    need(pos, 1)
    const k = bytes[pos++]
    if (k < 1 || k > MAX_DELTA_BASES) fail(`${k} bases, allowed 1..${MAX_DELTA_BASES}`)
    need(pos, k * ID_BYTES)
    const bases: ChunkId[] = []
    for (let j = 0; j < k; j++) { bases.push(hex(pos)); pos += ID_BYTES }
    const e = { target, deltaBytes, bases }
    checkEntry(e, fail)
    if (entries.length > 0 && compareEntries(entries[entries.length - 1], e) >= 0) fail('entries out of order or repeated')
    entries.push(e)
  }
  if (pos !== end) fail(end < pos ? 'truncated' : `${end - pos} stray bytes before the signature`)
  return { manifestDigest, keyId, entries }
}

export interface VerifyDeltaIndexOptions {
  /** the pinned repository key */
  publicKey: KeyObject
  /** digest of the manifest the node verified and is pulling: an index for another is refused */
  manifestDigest: string
}

/**
 * Parses and verifies: well-formed (ERR_DELTA_INDEX_MALFORMED), then signed by the pinned
 * key and for the expected manifest (ERR_DELTA_INDEX_TAMPERED).
 */
export function verifyDeltaIndex (bytes: Uint8Array, opts: VerifyDeltaIndexOptions): DeltaIndex {
  const index = decodeDeltaIndex(bytes)
  if (index.keyId !== keyIdOf(opts.publicKey)) throw new DeltaIndexTamperedError('delta index is signed by another key than the pinned one')
  const end = bytes.byteLength - SIGNATURE_BYTES
  if (!verifyBytes(opts.publicKey, bytes.subarray(0, end), bytes.subarray(end))) throw new DeltaIndexTamperedError()
  if (index.manifestDigest !== opts.manifestDigest) throw new DeltaIndexTamperedError(`delta index is for manifest ${index.manifestDigest}, not ${opts.manifestDigest}`)
  return index
}
