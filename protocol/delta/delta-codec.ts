/**
 * A delta chunk: a chunk coded as one zstd frame whose dictionary is the bytes of one or
 * more base chunks the receiver already holds (raw-content dictionary: the bases
 * concatenated in header order). Self-describing:
 *
 *   "BCDL"          magic, 4 bytes
 *   0x01            format version
 *   32 bytes        target chunk id (SHA-256 of the chunk the delta rebuilds)
 *   varint          target length, 1..MAX_DELTA_CHUNK_BYTES
 *   u8 k            base count, 1..MAX_DELTA_BASES
 *   k × (32 bytes id, varint length 1..MAX_DELTA_CHUNK_BYTES)   distinct, none the target
 *   ...             one zstd frame, 1..MAX_DELTA_FRAME_BYTES bytes
 *   8 bytes         check: the first 8 bytes of SHA-256 of every byte before it
 *
 * The check makes a delta have one spelling: zstd ignores a few bits of a frame (the
 * descriptor's unused bit, reserved bits of a sequences header), so without it a flipped
 * bit could still rebuild the target. It is integrity, not authenticity: what authenticates
 * a delta is that its output hashes to the target id the signed manifest names.
 *
 * Decoding is strict and bounded: the output is capped at the declared target length, the
 * zstd window at what that length needs, and the result must be exactly the target length
 * and hash to the target id. zstd decodes a frame against the wrong dictionary without
 * complaint (measured: garbage out, no error), so the hash is the only check that matters;
 * when it fails the bases are re-hashed to tell a damaged local base (not the sender's
 * fault) from a corrupt delta.
 *
 * Pure and synchronous, like chunk-codec.ts: chunks are tens of KiB.
 */
import { createHash } from 'node:crypto'
import { constants as zlibConstants, zstdCompress, zstdCompressSync, zstdDecompressSync } from 'node:zlib'
import type { ZstdOptions } from 'node:zlib'
import { promisify } from 'node:util'
import { chunkId, isChunkId } from '../store/chunk-id.ts'
import type { ChunkId } from '../store/chunk-id.ts'
import { startsWithZstdMagic, zstdWindowLogMax } from '../store/chunk-codec.ts'
import { DeltaBaseCorruptError, DeltaBaseMissingError, DeltaCorruptError, DeltaMalformedError } from '../errors.ts'
import { readVarint, varintLength, writeVarint } from '../wire/varint.ts'
import { DEFAULT_DELTA_LEVEL, MAX_DELTA_BASES, MAX_DELTA_CHUNK_BYTES, MAX_DELTA_FRAME_BYTES } from './constants.ts'

export const DELTA_MAGIC: Readonly<Uint8Array> = Uint8Array.of(0x42, 0x43, 0x44, 0x4c) // "BCDL"
export const DELTA_FORMAT_VERSION = 1
const ID_BYTES = 32
/** Bytes of the trailing check. */
export const DELTA_CHECK_BYTES = 8

export interface DeltaBaseRef {
  id: ChunkId
  length: number
}

export interface DeltaHeader {
  target: ChunkId
  targetLength: number
  bases: DeltaBaseRef[]
  /** where the zstd frame starts and ends in the delta bytes */
  frameOffset: number
  frameEnd: number
}

export interface DeltaBase {
  id: ChunkId
  bytes: Uint8Array
}

export interface EncodeDeltaOptions {
  /** zstd level (default `DEFAULT_DELTA_LEVEL`) */
  level?: number
  /** the target's id when the caller already has it (saves one SHA-256) */
  targetId?: ChunkId
}

function dictionaryOf (bases: ReadonlyArray<{ bytes: Uint8Array }>): Uint8Array {
  return bases.length === 1 ? bases[0].bytes : Buffer.concat(bases.map((b) => b.bytes))
}

/**
 * The delta of `target` against `bases` (in the order given). Throws TypeError for a
 * caller's mistake (no bases, too many, duplicates, a base that is the target, sizes over
 * the caps). The caller decides whether the delta is worth keeping (`byteLength` against
 * the stored chunk).
 */
export function encodeDelta (target: Uint8Array, bases: readonly DeltaBase[], options: EncodeDeltaOptions = {}): Uint8Array {
  const { targetId, zstdOptions } = prepare(target, bases, options)
  return frameDelta(targetId, target.byteLength, bases, zstdCompressSync(target, zstdOptions))
}

const zstdCompressAsync = promisify(zstdCompress) as (buf: Uint8Array, options: ZstdOptions) => Promise<Buffer>

/**
 * `encodeDelta` with the compression on libuv's thread pool, so a publisher coding
 * thousands of deltas at a slow level keeps its event loop free.
 */
export async function encodeDeltaAsync (target: Uint8Array, bases: readonly DeltaBase[], options: EncodeDeltaOptions = {}): Promise<Uint8Array> {
  const { targetId, zstdOptions } = prepare(target, bases, options)
  return frameDelta(targetId, target.byteLength, bases, await zstdCompressAsync(target, zstdOptions))
}

function prepare (target: Uint8Array, bases: readonly DeltaBase[], options: EncodeDeltaOptions): { targetId: ChunkId, zstdOptions: ZstdOptions } {
  if (!(target instanceof Uint8Array) || target.byteLength < 1 || target.byteLength > MAX_DELTA_CHUNK_BYTES) throw new TypeError(`target must be 1..${MAX_DELTA_CHUNK_BYTES} bytes`)
  if (!Array.isArray(bases) || bases.length < 1 || bases.length > MAX_DELTA_BASES) throw new TypeError(`a delta has 1..${MAX_DELTA_BASES} bases`)
  const targetId = options.targetId ?? chunkId(target)
  const seen = new Set<string>()
  for (const b of bases) {
    if (!isChunkId(b.id) || !(b.bytes instanceof Uint8Array) || b.bytes.byteLength < 1 || b.bytes.byteLength > MAX_DELTA_CHUNK_BYTES) throw new TypeError('each base needs a chunk id and 1..MAX_DELTA_CHUNK_BYTES bytes')
    if (b.id === targetId || seen.has(b.id)) throw new TypeError('bases must be distinct and differ from the target')
    seen.add(b.id)
  }
  const level = options.level ?? DEFAULT_DELTA_LEVEL
  if (!Number.isSafeInteger(level) || level < 1 || level > 22) throw new TypeError('level must be 1..22')
  return {
    targetId,
    zstdOptions: {
      dictionary: dictionaryOf(bases),
      // the streaming (async) encoder writes the same frame only when told the size up front
      pledgedSrcSize: target.byteLength,
      params: { [zlibConstants.ZSTD_c_compressionLevel]: level, [zlibConstants.ZSTD_c_contentSizeFlag]: 1 }
    }
  }
}

function frameDelta (targetId: ChunkId, targetLength: number, bases: readonly DeltaBase[], frame: Uint8Array): Uint8Array {
  let size = DELTA_MAGIC.length + 1 + ID_BYTES + varintLength(targetLength) + 1 + frame.byteLength + DELTA_CHECK_BYTES
  for (const b of bases) size += ID_BYTES + varintLength(b.bytes.byteLength)
  const out = new Uint8Array(size)
  out.set(DELTA_MAGIC, 0)
  let pos = DELTA_MAGIC.length
  out[pos++] = DELTA_FORMAT_VERSION
  out.set(Buffer.from(targetId, 'hex'), pos)
  pos = writeVarint(out, pos + ID_BYTES, targetLength)
  out[pos++] = bases.length
  for (const b of bases) {
    out.set(Buffer.from(b.id, 'hex'), pos)
    pos = writeVarint(out, pos + ID_BYTES, b.bytes.byteLength)
  }
  out.set(frame, pos)
  pos += frame.byteLength
  out.set(checkOf(out.subarray(0, pos)), pos)
  return out
}

function checkOf (bytes: Uint8Array): Uint8Array {
  return createHash('sha256').update(bytes).digest().subarray(0, DELTA_CHECK_BYTES)
}

const hexAt = (bytes: Uint8Array, pos: number): string => Buffer.from(bytes.buffer, bytes.byteOffset + pos, ID_BYTES).toString('hex')

/** Parses the header only (what a node checks before it decodes). Throws DeltaMalformedError. */
export function decodeDeltaHeader (bytes: Uint8Array): DeltaHeader {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('delta bytes must be a Uint8Array')
  const fail = (why: string, cause?: unknown): never => { throw new DeltaMalformedError(`delta: ${why}`, cause === undefined ? undefined : { cause }) }
  let end = bytes.byteLength
  const need = (pos: number, n: number): void => { if (pos + n > end) fail('truncated header') }
  const varint = (pos: number, max: number, what: string): [number, number] => {
    try { return readVarint(bytes, pos, max) } catch (err) { return fail(`${what}: ${(err as Error).message}`, err) }
  }
  need(0, DELTA_MAGIC.length + 1)
  for (let i = 0; i < DELTA_MAGIC.length; i++) if (bytes[i] !== DELTA_MAGIC[i]) fail('not a delta (bad magic)')
  if (bytes[4] !== DELTA_FORMAT_VERSION) fail(`unknown format version ${bytes[4]}`)
  need(5, DELTA_CHECK_BYTES)
  end -= DELTA_CHECK_BYTES
  if (!Buffer.from(checkOf(bytes.subarray(0, end))).equals(bytes.subarray(end))) fail('check bytes do not match (damaged or truncated)')
  let pos = 5
  need(pos, ID_BYTES)
  const target = hexAt(bytes, pos)
  let targetLength: number
  ;[targetLength, pos] = varint(pos + ID_BYTES, MAX_DELTA_CHUNK_BYTES, 'target length')
  if (targetLength < 1) fail('empty target')
  need(pos, 1)
  const k = bytes[pos++]
  if (k < 1 || k > MAX_DELTA_BASES) fail(`${k} bases, allowed 1..${MAX_DELTA_BASES}`)
  const bases: DeltaBaseRef[] = []
  const seen = new Set<string>([target])
  for (let i = 0; i < k; i++) {
    need(pos, ID_BYTES)
    const id = hexAt(bytes, pos)
    if (seen.has(id)) fail('a base repeats, or is the target')
    seen.add(id)
    let length: number
    ;[length, pos] = varint(pos + ID_BYTES, MAX_DELTA_CHUNK_BYTES, 'base length')
    if (length < 1) fail('empty base')
    bases.push({ id, length })
  }
  const frameBytes = end - pos
  if (frameBytes < 1) fail('no frame')
  if (frameBytes > MAX_DELTA_FRAME_BYTES) fail(`frame of ${frameBytes} bytes exceeds ${MAX_DELTA_FRAME_BYTES}`)
  if (!startsWithZstdMagic(bytes.subarray(pos))) fail('frame is not zstd')
  // zstd ignores the descriptor's unused bit (0x10) and reserved bit (0x08): refuse them so a delta has one spelling
  if (frameBytes < 5 || (bytes[pos + 4] & 0x18) !== 0) fail('frame header has unused or reserved bits set')
  return { target, targetLength, bases, frameOffset: pos, frameEnd: end }
}

export interface ApplyDeltaOptions {
  /** the target the caller asked for; another is refused before decoding */
  target?: ChunkId
  /** the bases the caller expects, in order (from the delta index); others are refused */
  bases?: readonly ChunkId[]
}

/**
 * Rebuilds and verifies the target chunk. `getBase(id)` returns the caller's copy of a
 * base, or undefined when it does not hold it (→ DeltaBaseMissingError: fetch the whole
 * chunk). Throws DeltaMalformedError (header, frame, length, or not what was asked for),
 * DeltaCorruptError (decoded bytes do not hash to the target), DeltaBaseCorruptError
 * (the caller's own base is damaged: the delta may be fine).
 */
export function applyDelta (bytes: Uint8Array, getBase: (id: ChunkId) => Uint8Array | undefined, options: ApplyDeltaOptions = {}): Uint8Array {
  const h = decodeDeltaHeader(bytes)
  if (options.target !== undefined && options.target !== h.target) throw new DeltaMalformedError(`delta is for chunk ${h.target}, asked for ${options.target}`)
  if (options.bases !== undefined && (options.bases.length !== h.bases.length || options.bases.some((id, i) => id !== h.bases[i].id))) {
    throw new DeltaMalformedError('delta names other bases than the index')
  }
  const held: DeltaBase[] = []
  for (const ref of h.bases) {
    const b = getBase(ref.id)
    if (b === undefined) throw new DeltaBaseMissingError(`base ${ref.id} is not held`)
    if (b.byteLength !== ref.length) throw new DeltaMalformedError(`base ${ref.id} is ${b.byteLength} bytes here, the delta says ${ref.length}`)
    held.push({ id: ref.id, bytes: b })
  }
  let out: Uint8Array
  try {
    out = zstdDecompressSync(bytes.subarray(h.frameOffset, h.frameEnd), {
      dictionary: dictionaryOf(held),
      maxOutputLength: h.targetLength,
      params: { [zlibConstants.ZSTD_d_windowLogMax]: zstdWindowLogMax(h.targetLength) }
    })
  } catch (err) {
    throw new DeltaMalformedError('delta frame does not decode', { cause: err })
  }
  if (out.byteLength !== h.targetLength) throw new DeltaMalformedError(`delta decodes to ${out.byteLength} bytes, header says ${h.targetLength}`)
  if (chunkId(out) !== h.target) {
    const bad = held.find((b) => chunkId(b.bytes) !== b.id)
    if (bad !== undefined) throw new DeltaBaseCorruptError(`local base ${bad.id} does not hash to its id`)
    throw new DeltaCorruptError(`delta for ${h.target} does not rebuild it`)
  }
  return out
}
