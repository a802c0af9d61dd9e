/**
 * `pull --dry-run`: what a pull of a version would take from where, without writing image
 * data or joining the swarm. The same steps as a pull, asked instead of done: the verified
 * manifest, its chunk list (list parts cached, else fetched: they are not image data), the
 * plan (held / copy from an older version), the local sources (`has`, no reads), then for
 * what is left the version's delta index from the origin (with an origin token of its own,
 * not an announce). What is left goes to peers or the origin as the scheduler decides on
 * the day; the origin's share of it comes as deltas where counted here, whole otherwise.
 *
 * Bases are counted as held when some version of the image on disk holds them, or when the
 * pull would have them before the network (held or copied): a chunk fetched during the pull
 * can serve as a base too, so the delta count is a floor.
 */
import { chunkPath, decodeStoredChunk, manifestDigest } from '../../protocol/index.ts'
import type { ChunkId, OriginAccess } from '../../protocol/index.ts'
import { fetchDeltaIndex, fetchOriginFile } from '../origin/index.ts'
import { chooseDelta, entriesByTarget, holdsChunk } from './deltas.ts'
import { planPull } from './plan.ts'
import { fetchManifest } from './puller.ts'
import type { PullComponents } from './index.ts'

export interface DryRunOptions {
  image: string
  version?: number | 'latest'
  signal?: AbortSignal
}

/** Counts in decoded (chunk) bytes unless named wire. */
export interface DryRunReport {
  image: string
  version: number
  totalBytes: number
  /** distinct chunks of the version */
  chunks: number
  /** already in this version's file */
  held: { chunks: number, bytes: number }
  /** copied from older versions on this disk */
  copies: { chunks: number, bytes: number }
  /** from local sources (seed files, bundles), by kind, as their indexes say */
  localSources: Record<string, { chunks: number, bytes: number }>
  /** left for the network: peers in the swarm or the origin */
  network: { chunks: number, bytes: number }
  /** of those, what the origin would send as deltas: delta files' bytes on the wire, and the chunk bytes they rebuild */
  deltas: { indexEntries: number, chunks: number, wireBytes: number, bytes: number }
  /** of those, what would come whole (from peers, or compressed from the origin) */
  whole: { chunks: number, bytes: number }
  /** chunk-list parts fetched for this dry run (a pull after it finds them cached) */
  listWireBytes: number
  /** why no delta index was used, when none was */
  deltaIndex: 'used' | 'none' | 'refused' | 'unreachable' | 'not needed'
}

export async function dryRunPull (c: PullComponents, options: DryRunOptions): Promise<DryRunReport> {
  const { images } = c
  const signal = options.signal
  const log = c.logger.forComponent('node:pull')
  const { root, manifest } = await fetchManifest(c, { image: options.image, version: options.version, signal })
  let access: OriginAccess | undefined
  const originAccess = async (): Promise<OriginAccess> => {
    if (c.tracker.originAccess === undefined) throw new Error('this tracker client cannot ask for origin access')
    access ??= await c.tracker.originAccess(manifest.image, c.peer.peerId, { signal })
    return access
  }
  let listWireBytes = 0
  const versions = await images.versions(manifest.image)
  const own = versions.find((v) => v.version === manifest.version)
  const table = own?.table ?? await images.chunkTable(manifest, {
    signal,
    fetchPart: async (id, o) => {
      const body = await fetchOriginFile(await originAccess(), chunkPath(id), { signal: o.signal, maxBytes: manifest.chunking.maxBytes, what: `chunk-list part ${id}`, onWireBytes: (n) => { listWireBytes += n } })
      return decodeStoredChunk(id, body!, { maxBytes: manifest.chunking.maxBytes })
    }
  })
  const target = own ?? { table, has: () => false }
  const sources = versions.filter((v) => v !== own)
  const plan = planPull(target, sources)
  const out: DryRunReport = {
    image: manifest.image, version: manifest.version, totalBytes: manifest.totalBytes, chunks: table.units,
    held: { chunks: 0, bytes: plan.heldBytes }, copies: { chunks: plan.copies.length, bytes: plan.copyBytes }, localSources: {},
    network: { chunks: 0, bytes: 0 }, deltas: { indexEntries: 0, chunks: 0, wireBytes: 0, bytes: 0 }, whole: { chunks: 0, bytes: 0 },
    listWireBytes, deltaIndex: 'not needed'
  }
  out.held.chunks = table.units - plan.needed.length - plan.copies.length
  const before = new Set<ChunkId>()
  for (let u = 0; u < table.units; u++) if (target.has(u)) before.add(table.unitId(u))
  for (const cp of plan.copies) before.add(table.unitId(cp.unit))

  const localSources = c.localSources?.() ?? []
  const network: number[] = []
  for (const u of plan.needed) {
    const id = table.unitId(u)
    const source = localSources.find((s) => s.has(id))
    if (source === undefined) { network.push(u); continue }
    const k = (out.localSources[source.kind] ??= { chunks: 0, bytes: 0 })
    k.chunks++
    k.bytes += table.unitLengths[u]!
    before.add(id)
  }

  if (network.length > 0) {
    let byTarget: ReturnType<typeof entriesByTarget> | undefined
    try {
      const r = await fetchDeltaIndex(await originAccess(), manifestDigest(root), { publicKey: c.trust.repositoryKey, signal })
      out.deltaIndex = r === undefined ? 'none' : 'used'
      if (r !== undefined) { byTarget = entriesByTarget(r.index); out.deltas.indexEntries = r.index.entries.length }
    } catch (err) {
      if (signal?.aborted === true) throw signal.reason
      out.deltaIndex = (err as { code?: string }).code?.startsWith('ERR_DELTA_INDEX_') === true ? 'refused' : 'unreachable'
      log.warn('dry run: no delta index', { err })
    }
    const holds = (id: ChunkId): boolean => before.has(id) || holdsChunk(versions, id)
    for (const u of network) {
      const length = table.unitLengths[u]!
      out.network.chunks++
      out.network.bytes += length
      const e = byTarget === undefined ? undefined : chooseDelta(byTarget, table.unitId(u), holds)
      if (e === undefined) { out.whole.chunks++; out.whole.bytes += length; continue }
      out.deltas.chunks++
      out.deltas.wireBytes += e.deltaBytes
      out.deltas.bytes += length
    }
  }
  out.listWireBytes = listWireBytes
  return out
}
