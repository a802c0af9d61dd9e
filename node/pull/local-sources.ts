/**
 * Local chunk sources beyond this image's own versions: indexed seed files (a pre-staged
 * copy, the host's system files, other images) and offline bundles. The puller asks them,
 * in the order given, for every chunk it still lacks after its bitmap and older versions,
 * before anything crosses the wire. A source's bytes are never trusted: each chunk is
 * hashed against its id before it is written, and a mismatch (a seed file rewritten under
 * us, a tampered bundle) only sends that chunk to the network.
 */
import { chunkId } from '../../protocol/index.ts'
import type { ChunkId } from '../../protocol/index.ts'
import type { ImageVersion } from '../image-store/index.ts'

export interface LocalChunkSource {
  /** what the report calls it: `seed`, `bundle` … */
  readonly kind: string
  /** for logs and dry runs: a path or a bundle name (never a secret) */
  readonly name: string
  /** true when the source believes it holds `id` (cheap; no I/O) */
  has: (id: ChunkId) => boolean
  /** the bytes the source has for `id`, unverified; undefined when it has none (any more) */
  read: (id: ChunkId, length: number, signal?: AbortSignal) => Promise<Uint8Array | undefined>
}

export interface LocalSourcesResult {
  /** target units still to fetch, ascending (the list passed in when no source is asked) */
  rest: readonly number[]
  /** decoded bytes each source kind supplied (verified and written) */
  bytesByKind: Record<string, number>
  /** chunks a source offered that did not hash to their id */
  refused: number
}

/** Fills what it can of `needed` from `sources`; the rest is for the network. */
export async function fillFromLocalSources (target: ImageVersion, needed: readonly number[], sources: readonly LocalChunkSource[], options: { signal?: AbortSignal, onFilled?: (bytes: number) => void } = {}): Promise<LocalSourcesResult> {
  const rest: number[] = []
  const result = { rest, bytesByKind: {} as Record<string, number>, refused: 0 }
  if (sources.length === 0) return { ...result, rest: needed }
  const { table } = target
  for (const u of needed) {
    options.signal?.throwIfAborted()
    const id = table.unitId(u)
    const length = table.unitLengths[u]!
    let filled = false
    for (const source of sources) {
      if (!source.has(id)) continue
      const bytes = await source.read(id, length, options.signal)
      if (bytes === undefined) continue
      if (bytes.length !== length || chunkId(bytes) !== id) { result.refused++; continue }
      await target.put(u, bytes)
      result.bytesByKind[source.kind] = (result.bytesByKind[source.kind] ?? 0) + length
      options.onFilled?.(length)
      filled = true
      break
    }
    if (!filled) rest.push(u)
  }
  return result
}
