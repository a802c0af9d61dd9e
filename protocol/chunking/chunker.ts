/**
 * Streaming FastCDC (Xia et al., USENIX ATC 2016): gear rolling hash, the first `minBytes`
 * of every chunk skipped without hashing, normalized chunking with a harder mask
 * (log2(avg) + 2 bits) before `avgBytes` and an easier one (log2(avg) − 2 bits) after it,
 * and a forced cut at `maxBytes`. Deterministic: the cuts depend only on the bytes, never on
 * how the input is split into buffers, so two parties with the same parameters name the
 * same chunks.
 *
 * Memory: at most one open chunk (< maxBytes) plus the input buffer being cut.
 */
import { hash } from 'node:crypto'
import type { ChunkId } from '../store/chunk-id.ts'
import { DEFAULT_CHUNKING, validateChunkingParams } from './chunking-params.ts'
import type { ChunkingParams } from './chunking-params.ts'
import { createGearScanner, createJsGearScanner, scanGear, topBitsMask } from './gear.ts'
import type { GearScanner, GearScanResult } from './gear.ts'
import { createHashPool } from './hash-pool.ts'
import type { HashPool } from './hash-pool.ts'

/**
 * One content-defined chunk. `bytes` may be a view of a buffer the source yielded (no copy
 * when the chunk lies inside one input buffer); the chunker never writes to it or reuses it,
 * and a source must not reuse a buffer after yielding it (Node's streams do not).
 */
export interface Chunk {
  id: ChunkId
  /** byte offset of the chunk in the stream */
  offset: number
  length: number
  bytes: Uint8Array
}

export interface ChunkStreamOptions {
  signal?: AbortSignal
}

export interface ParallelChunkStreamOptions extends ChunkStreamOptions {
  /** a pool to hash on (left open); by default one worker is started and stopped with the stream */
  pool?: HashPool
}

interface Masks {
  minBytes: number
  normalBytes: number
  maxBytes: number
  /** before avgBytes: log2(avg) + 2 bits, cuts rarer (normalization level 2) */
  maskSmall: number
  /** from avgBytes on: log2(avg) − 2 bits, cuts likelier */
  maskLarge: number
}

function deriveMasks (params: ChunkingParams): Masks {
  const p = validateChunkingParams(params)
  const bits = Math.round(Math.log2(p.avgBytes))
  return {
    minBytes: p.minBytes,
    normalBytes: p.avgBytes,
    maxBytes: p.maxBytes,
    maskSmall: topBitsMask(bits + 2),
    maskLarge: topBitsMask(bits - 2)
  }
}

/**
 * Where the chunk that starts at `start` ends, treating `end` as the end of the data: an
 * index in `(start, end]`. Pure, plain JavaScript; the streaming chunker cuts identically.
 */
export function findBoundary (buf: Uint8Array, start: number, end: number, params: ChunkingParams = DEFAULT_CHUNKING): number {
  const m = deriveMasks(params)
  if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && start <= end && end <= buf.length)) {
    throw new TypeError(`invalid range [${start}, ${end}) of ${buf.length} bytes`)
  }
  const n = end - start
  if (n <= m.minBytes) return end
  const out: GearScanResult = { cut: false, pos: 0, hash: 0 }
  const normalEnd = start + Math.min(m.normalBytes, n)
  scanGear(buf, start + m.minBytes, normalEnd, 0, m.maskSmall, out)
  if (out.cut || normalEnd === end) return out.pos
  scanGear(buf, normalEnd, start + Math.min(m.maxBytes, n), out.hash, m.maskLarge, out)
  return out.pos
}

/**
 * Every position in `(start, end]` where a chunk could end, whatever chunk it lies in: the
 * gear hash of the bytes before it meets the easier of the two masks (the harder one's
 * matches are among them). Past the first 32 bytes hashed this depends on the bytes alone,
 * so a seed file can be cut from every place an image holding it might have cut it.
 */
export function cutCandidates (buf: Uint8Array, start: number, end: number, params: ChunkingParams = DEFAULT_CHUNKING): number[] {
  const m = deriveMasks(params)
  if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && start <= end && end <= buf.length)) {
    throw new TypeError(`invalid range [${start}, ${end}) of ${buf.length} bytes`)
  }
  const out: number[] = []
  const r: GearScanResult = { cut: false, pos: 0, hash: 0 }
  for (let pos = start, h = 0; pos < end; pos = r.pos, h = r.hash) {
    scanGear(buf, pos, end, h, m.maskLarge, r)
    if (!r.cut) break
    out.push(r.pos)
  }
  return out
}

/** Incremental cut finder: feed the stream buffer by buffer, get the cuts inside each. */
export interface BoundaryFinder {
  /**
   * Cut positions inside `bytes` (exclusive end indexes of the chunks that end there, in
   * order). Bytes after the last cut belong to the open chunk, continued by the next call.
   */
  feed: (bytes: Uint8Array) => number[]
  /** bytes of the open chunk (fed, not yet cut); at the end of the stream they are the last chunk */
  readonly openBytes: number
  /** forget the open chunk, as at the start of a stream */
  reset: () => void
}

export interface BoundaryFinderInit {
  /** 'wasm' (default where available) or 'js'; both cut identically */
  engine?: 'wasm' | 'js'
}

/** A finder for one stream. Validates `params` once (TypeError on bad ones). */
export function createBoundaryFinder (params: ChunkingParams = DEFAULT_CHUNKING, init: BoundaryFinderInit = {}): BoundaryFinder {
  const m = deriveMasks(params)
  const scanner: GearScanner = init.engine === 'js' ? createJsGearScanner() : createGearScanner()
  const windowBytes = scanner.windowBytes
  const out: GearScanResult = { cut: false, pos: 0, hash: 0 }
  // the open chunk: its length so far and the gear hash at its end
  let open = 0
  let hash = 0

  function feed (bytes: Uint8Array): number[] {
    const cuts: number[] = []
    const len = bytes.length
    let i = 0
    let base = -1 // where the loaded window starts in `bytes`, -1: nothing loaded
    let loadedEnd = 0
    while (i < len) {
      if (open < m.minBytes) {
        // the first minBytes of a chunk are never hashed
        const skip = Math.min(m.minBytes - open, len - i)
        i += skip
        open += skip
        continue
      }
      if (base < 0 || i >= loadedEnd) {
        base = i
        loadedEnd = Math.min(len, i + windowBytes)
        scanner.load(bytes.subarray(base, loadedEnd))
      }
      const small = open < m.normalBytes
      const limit = small ? m.normalBytes - open : m.maxBytes - open
      const stop = Math.min(loadedEnd, i + limit)
      scanner.scan(i - base, stop - base, hash, small ? m.maskSmall : m.maskLarge, out)
      const p = base + out.pos
      open += p - i
      hash = out.hash
      i = p
      if (out.cut || open === m.maxBytes) {
        cuts.push(i)
        open = 0
        hash = 0
      }
    }
    return cuts
  }

  return {
    feed,
    get openBytes () { return open },
    reset: () => { open = 0; hash = 0 }
  }
}

/**
 * The chunk-id rule of chunk-id.ts (hex SHA-256), through node's one-shot `hash()`: it
 * skips the Hash object and measured ~10 % cheaper per 64 KiB chunk than `createHash`.
 * The tests check every id against `chunkId`.
 */
function chunkId (bytes: Uint8Array): ChunkId {
  return hash('sha256', bytes, 'hex')
}

function concat (pieces: Uint8Array[], last: Uint8Array, total: number): Uint8Array {
  const out = new Uint8Array(total)
  let o = 0
  for (const p of pieces) { out.set(p, o); o += p.length }
  out.set(last, o)
  return out
}

/** Bytes cut at a time: about an L2 cache, so hashing finds the chunk's bytes still there. */
const FEED_BYTES = 256 * 1024

interface Cut {
  offset: number
  bytes: Uint8Array
}

/** The cutting half of both chunkers: the chunks' bytes in order, not yet hashed. */
async function * cutStream (source: AsyncIterable<Uint8Array>, finder: BoundaryFinder, signal: AbortSignal | undefined): AsyncGenerator<Cut> {
  signal?.throwIfAborted()
  let pieces: Uint8Array[] = []
  let pieceBytes = 0
  let offset = 0
  for await (const buf of source) {
    signal?.throwIfAborted()
    if (!(buf instanceof Uint8Array)) throw new TypeError('chunk source must yield Uint8Array')
    if (buf.length === 0) continue
    let s = 0
    // Cut a slice, then hand out its chunks (hashed by the caller) while the bytes are
    // still in the CPU cache; chunks still span slices without being copied.
    for (let at = 0; at < buf.length; at += FEED_BYTES) {
      const cuts = finder.feed(buf.subarray(at, Math.min(buf.length, at + FEED_BYTES)))
      for (const cut of cuts) {
        const c = at + cut
        const part = buf.subarray(s, c)
        const bytes = pieces.length === 0 ? part : concat(pieces, part, pieceBytes + part.length)
        pieces = []
        pieceBytes = 0
        yield { offset, bytes }
        signal?.throwIfAborted()
        offset += bytes.length
        s = c
      }
    }
    if (s < buf.length) {
      pieces.push(buf.subarray(s))
      pieceBytes += buf.length - s
    }
  }
  if (pieceBytes > 0) {
    const last = pieces.pop() as Uint8Array
    const bytes = pieces.length === 0 ? last : concat(pieces, last, pieceBytes)
    yield { offset, bytes }
  }
}

/**
 * Cuts `source` into content-defined chunks and hashes each (SHA-256) on this thread.
 * Yields them in order; their lengths sum to the input's. Throws TypeError on invalid
 * `params`, the signal's reason when aborted.
 */
export async function * chunkStream (source: AsyncIterable<Uint8Array>, params: ChunkingParams = DEFAULT_CHUNKING, options: ChunkStreamOptions = {}): AsyncGenerator<Chunk> {
  const finder = createBoundaryFinder(params)
  for await (const { offset, bytes } of cutStream(source, finder, options.signal)) {
    yield { id: chunkId(bytes), offset, length: bytes.length, bytes }
  }
}

/** Chunks handed to the hash pool together: fewer messages, still small enough to keep both cores busy. */
const BATCH_BYTES = 1024 * 1024
/** Batches in flight to the pool before this thread hashes a batch itself. */
const MAX_POOL_BATCHES_IN_FLIGHT = 2

interface Batch {
  cuts: Cut[]
  ids: ChunkId[] | undefined
  pending: Promise<ChunkId[]> | undefined
}

/**
 * Same chunks as `chunkStream`, with hashing shared between this thread and a worker
 * thread: this thread cuts, the worker hashes, and this thread also hashes whenever the
 * worker is behind, so two cores go faster than one core's SHA-256 alone.
 */
export async function * chunkStreamParallel (source: AsyncIterable<Uint8Array>, params: ChunkingParams = DEFAULT_CHUNKING, options: ParallelChunkStreamOptions = {}): AsyncGenerator<Chunk> {
  const { signal } = options
  const finder = createBoundaryFinder(params)
  signal?.throwIfAborted()
  const pool = options.pool ?? createHashPool()
  const queue: Batch[] = []
  let inPool = 0
  let current: Cut[] = []
  let currentBytes = 0

  const dispatch = (): void => {
    const batch: Batch = { cuts: current, ids: undefined, pending: undefined }
    if (inPool < MAX_POOL_BATCHES_IN_FLIGHT) {
      inPool++
      batch.pending = pool.hash(current.map((c) => c.bytes), { signal })
        .then((ids) => { batch.ids = ids; return ids })
        .finally(() => { inPool-- })
      batch.pending.catch(() => {}) // surfaced when awaited in order below
    } else {
      batch.ids = current.map((c) => chunkId(c.bytes))
    }
    queue.push(batch)
    current = []
    currentBytes = 0
  }

  try {
    for await (const cut of cutStream(source, finder, signal)) {
      current.push(cut)
      currentBytes += cut.bytes.length
      if (currentBytes >= BATCH_BYTES) dispatch()
      // yield what is done; wait for the oldest batch only when too much is queued
      while (queue.length > 0 && (queue[0].ids !== undefined || queue.length > MAX_POOL_BATCHES_IN_FLIGHT + 2)) {
        yield * drain(queue.shift() as Batch, signal)
      }
    }
    if (current.length > 0) dispatch()
    while (queue.length > 0) yield * drain(queue.shift() as Batch, signal)
  } finally {
    if (options.pool === undefined) await pool.close()
  }
}

async function * drain (batch: Batch, signal: AbortSignal | undefined): AsyncGenerator<Chunk> {
  const ids = batch.ids ?? await (batch.pending as Promise<ChunkId[]>)
  for (let k = 0; k < batch.cuts.length; k++) {
    signal?.throwIfAborted()
    const { offset, bytes } = batch.cuts[k]
    yield { id: ids[k], offset, length: bytes.length, bytes }
  }
}
