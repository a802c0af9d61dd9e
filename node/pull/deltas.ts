/**
 * Delta chunks in a pull (docs/deltas.md, "What a node does"): the version's signed delta
 * index, the choice of a delta for a chunk the scheduler sends to the origin, and its
 * application against bases this disk holds, with the fallbacks to the whole chunk.
 *
 * Choice: among the index's entries for the chunk, the smallest whose bases are all held,
 * by the presence bitmap of some version of this image on disk (the one being pulled
 * included). Before the delta is requested each base is read and hashed against its id,
 * so a damaged base costs no download: it is dropped from its version (fetched again by
 * that version's next pull) and the chunk comes whole.
 *
 * Fallbacks to the whole chunk: a base missing or damaged here, the delta absent on the
 * origin (404, transfer failure); the delta malformed or not rebuilding its chunk is the
 * origin's fault and counted as refused. An abort is never swallowed.
 */
import { applyDelta, chunkId, isBranchcastError } from '../../protocol/index.ts'
import type { ChunkId, DeltaIndex, DeltaIndexEntry, Logger } from '../../protocol/index.ts'
import type { ImageStore, ImageVersion } from '../image-store/index.ts'

/** What deltas did in one pull (the report's numbers). */
export interface DeltaCounts {
  /** entries in the verified index (0: none, or no index) */
  indexEntries: number
  /** chunks rebuilt from deltas */
  chunks: number
  /** delta bytes received from the origin (wire bytes, also in the origin's count) */
  wireBytes: number
  /** decoded chunk bytes the applied deltas produced */
  decodedBytes: number
  /** deltas the origin sent that were malformed or did not rebuild their chunk (the chunk then came whole) */
  refused: number
  /** deltas given up for the whole chunk through no fault of the origin (a base gone or damaged here, a delta absent) */
  fallbacks: number
}

export function emptyDeltaCounts (): DeltaCounts {
  return { indexEntries: 0, chunks: 0, wireBytes: 0, decodedBytes: 0, refused: 0, fallbacks: 0 }
}

/** The index's entries by target, smallest delta first. */
export function entriesByTarget (index: DeltaIndex): Map<ChunkId, DeltaIndexEntry[]> {
  const out = new Map<ChunkId, DeltaIndexEntry[]>()
  for (const e of index.entries) {
    const list = out.get(e.target)
    if (list === undefined) out.set(e.target, [e]); else list.push(e)
  }
  for (const list of out.values()) list.sort((a, b) => a.deltaBytes - b.deltaBytes)
  return out
}

/** True when some version in `versions` holds chunk `id` (its bit is set: written, not found damaged). */
export function holdsChunk (versions: readonly ImageVersion[], id: ChunkId): boolean {
  for (const v of versions) {
    const u = v.table.unitOfId(id)
    if (u !== undefined && v.has(u)) return true
  }
  return false
}

/** The entry to use for `id`: the smallest whose bases are all held, or undefined (fetch it whole). */
export function chooseDelta (byTarget: ReadonlyMap<ChunkId, readonly DeltaIndexEntry[]>, id: ChunkId, holds: (id: ChunkId) => boolean): DeltaIndexEntry | undefined {
  return byTarget.get(id)?.find((e) => e.bases.every(holds))
}

export interface DeltaFetcher {
  /** The chunk rebuilt from a delta, or undefined when it should come whole. Rejects only on abort. */
  tryDelta: (id: ChunkId, fetchDelta: (entry: DeltaIndexEntry) => Promise<Uint8Array>, signal?: AbortSignal) => Promise<Uint8Array | undefined>
  /** whether `id` has a usable delta now (the dry run's question) */
  choose: (id: ChunkId) => DeltaIndexEntry | undefined
  readonly counts: DeltaCounts
}

/**
 * Delta use over `index` for pulls of `image` from `images`. `versions` are the image's
 * versions on disk when the transfer starts (the target included); their bits are read
 * at each choice, so a base written during the pull counts.
 */
export function createDeltaFetcher (init: { index: DeltaIndex, image: string, images: ImageStore, versions: readonly ImageVersion[], log: Logger, counts?: DeltaCounts }): DeltaFetcher {
  const { images, image, versions, log } = init
  const byTarget = entriesByTarget(init.index)
  const counts = init.counts ?? emptyDeltaCounts()
  counts.indexEntries = init.index.entries.length
  const choose = (id: ChunkId): DeltaIndexEntry | undefined => chooseDelta(byTarget, id, (b) => holdsChunk(versions, b))

  /** The held bases of `entry`, each verified; undefined when one is gone or damaged. */
  const readBases = async (entry: DeltaIndexEntry): Promise<Map<ChunkId, Uint8Array> | undefined> => {
    const bases = new Map<ChunkId, Uint8Array>()
    for (const b of entry.bases) {
      const held = await images.read(image, b)
      if (held === undefined) return undefined
      if (chunkId(held.data) !== b) {
        await held.discard()
        return undefined
      }
      bases.set(b, held.data)
    }
    return bases
  }

  const tryDelta = async (id: ChunkId, fetchDelta: (entry: DeltaIndexEntry) => Promise<Uint8Array>, signal?: AbortSignal): Promise<Uint8Array | undefined> => {
    const entry = choose(id)
    if (entry === undefined) return undefined
    const giveUp = (refused: boolean, err?: unknown): undefined => {
      if (signal?.aborted === true) throw signal.reason
      if (refused) counts.refused++; else counts.fallbacks++
      log[refused ? 'warn' : 'debug'](refused ? 'origin sent a bad delta: fetching the whole chunk' : 'delta not usable: fetching the whole chunk', { chunk: id, err })
      return undefined
    }
    const bases = await readBases(entry)
    if (bases === undefined) return giveUp(false)
    let bytes: Uint8Array
    try {
      bytes = await fetchDelta(entry)
    } catch (err) {
      return giveUp(isBranchcastError(err) && err.code === 'ERR_DELTA_MALFORMED', err)
    }
    try {
      const chunk = applyDelta(bytes, (b) => bases.get(b), { target: entry.target, bases: entry.bases })
      counts.chunks++
      counts.decodedBytes += chunk.byteLength
      return chunk
    } catch (err) {
      if (!isBranchcastError(err)) throw err
      // ERR_DELTA_BASE_MISSING / _CORRUPT: ours, not the origin's; the bases were hashed above
      return giveUp(err.code === 'ERR_DELTA_MALFORMED' || err.code === 'ERR_DELTA_CORRUPT', err)
    }
  }

  return { tryDelta, choose, counts }
}
