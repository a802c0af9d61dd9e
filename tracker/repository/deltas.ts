/**
 * Delta computation at publish time: for each chunk new in a version (in none of the
 * earlier versions given), find the earlier chunks with the most content in common
 * (resemblance sketches, protocol/delta/resemblance.ts, plus the neighbours of the chunks
 * around it that the versions share) and code it as a zstd delta against up to
 * `maxBases` of them, keeping the delta only when it is clearly smaller than the whole
 * stored chunk.
 *
 * Bounded: the pool of earlier chunks is capped (`MAX_DELTA_POOL_CHUNKS`, newest versions
 * first), memory is one sketch row per pool chunk plus one target and its bases at a time;
 * chunks are read from the store one by one, never the image. The zstd work runs on
 * libuv's thread pool (`encodeDeltaAsync`) so the tracker's event loop stays free.
 *
 * I/O is passed in (`read`, `write`), so the bench runs the same code over image files.
 */
import { DEFAULT_DELTA_LEVEL, MAX_DELTA_BASES, ResemblanceIndex, deltaPath, encodeDeltaAsync, encodeStoredChunk, pickBases, sketch } from '../../protocol/index.ts'
import type { ChunkId, DeltaIndexEntry } from '../../protocol/index.ts'
import { DELTA_KEEP_RATIO, MAX_DELTA_POOL_CHUNKS } from './constants.ts'

export interface ComputeDeltasInput {
  /** the new version's chunk ids in chunk-list order (repeats allowed) */
  version: Iterable<ChunkId>
  /** earlier versions' chunk ids, each in chunk-list order, newest first */
  earlier: ReadonlyArray<Iterable<ChunkId>>
  /** a chunk's verified bytes */
  read: (id: ChunkId) => Promise<Uint8Array>
  /** stores one delta at its relative path (`deltas/…`); called once per kept delta */
  write: (path: string, bytes: Uint8Array, entry: DeltaIndexEntry) => Promise<void>
  /** zstd level (default `DEFAULT_DELTA_LEVEL`) */
  level?: number
  /** bases per delta, 1..MAX_DELTA_BASES (default 3) */
  maxBases?: number
  /** pool cap (default `MAX_DELTA_POOL_CHUNKS`) */
  maxPoolChunks?: number
  signal?: AbortSignal
}

export interface ComputeDeltasResult {
  entries: DeltaIndexEntry[]
  /** distinct chunks of the version in no earlier version */
  newChunks: number
  /** their bytes, and their stored (whole, maybe zstd) bytes */
  newBytes: number
  newStoredBytes: number
  /** bytes of the kept deltas, and the stored bytes of the chunks they replace */
  deltaBytes: number
  replacedStoredBytes: number
  poolChunks: number
}

export async function computeDeltas (input: ComputeDeltasInput): Promise<ComputeDeltasResult> {
  const maxBases = input.maxBases ?? 3
  if (!Number.isSafeInteger(maxBases) || maxBases < 1 || maxBases > MAX_DELTA_BASES) throw new TypeError(`maxBases must be 1..${MAX_DELTA_BASES}`)
  const maxPool = input.maxPoolChunks ?? MAX_DELTA_POOL_CHUNKS
  const level = input.level ?? DEFAULT_DELTA_LEVEL
  const signal = input.signal

  // The pool: distinct earlier chunks, newest version first, capped; a handle per chunk.
  const poolIds: ChunkId[] = []
  const handleOf = new Map<ChunkId, number>()
  const index = new ResemblanceIndex()
  // Sketch the oldest admitted chunks first so the newest version's wins a shared super-feature.
  for (const ids of input.earlier) {
    for (const id of ids) {
      if (poolIds.length >= maxPool) break
      if (handleOf.has(id)) continue
      handleOf.set(id, poolIds.length)
      poolIds.push(id)
    }
  }
  const order = poolIds.map((_, h) => h).reverse()
  const sketchHandle = new Int32Array(poolIds.length)
  for (const h of order) {
    signal?.throwIfAborted()
    sketchHandle[h] = index.add(sketch(await input.read(poolIds[h])))
  }
  const poolHandleOf = new Map<number, number>()
  for (let h = 0; h < poolIds.length; h++) poolHandleOf.set(sketchHandle[h], h)

  // The targets, each with the pool neighbours of the shared chunks around it.
  const list: ChunkId[] = [...input.version]
  const result: ComputeDeltasResult = { entries: [], newChunks: 0, newBytes: 0, newStoredBytes: 0, deltaBytes: 0, replacedStoredBytes: 0, poolChunks: poolIds.length }
  const done = new Set<ChunkId>()
  let lastShared = -1
  for (let i = 0; i < list.length; i++) {
    const id = list[i]
    const h = handleOf.get(id)
    if (h !== undefined) { lastShared = h; continue }
    if (done.has(id)) continue
    done.add(id)
    signal?.throwIfAborted()
    const target = await input.read(id)
    const stored = encodeStoredChunk(target).byteLength
    result.newChunks++
    result.newBytes += target.byteLength
    result.newStoredBytes += stored
    if (poolIds.length === 0) continue

    const s = sketch(target)
    const near = new Set<number>()
    for (const c of index.candidates(s)) near.add(poolHandleOf.get(c.handle) as number)
    if (lastShared >= 0 && lastShared + 1 < poolIds.length) near.add(lastShared + 1)
    for (let j = i + 1; j < list.length && j < i + 64; j++) {
      const next = handleOf.get(list[j])
      if (next !== undefined) { if (next > 0) near.add(next - 1); break }
    }
    const picked = pickBases(s, [...near].map((p) => ({ handle: p, features: index.featuresOf(sketchHandle[p]) })), maxBases)
    if (picked.length === 0) continue
    const bases = await Promise.all(picked.map(async (p) => ({ id: poolIds[p], bytes: await input.read(poolIds[p]) })))
    const delta = await encodeDeltaAsync(target, bases, { level, targetId: id })
    if (delta.byteLength >= stored * DELTA_KEEP_RATIO) continue
    const entry: DeltaIndexEntry = { target: id, deltaBytes: delta.byteLength, bases: bases.map((b) => b.id) }
    await input.write(deltaPath(id, entry.bases), delta, entry)
    result.entries.push(entry)
    result.deltaBytes += delta.byteLength
    result.replacedStoredBytes += stored
  }
  return result
}
