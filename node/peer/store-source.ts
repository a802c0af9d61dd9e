/**
 * A chunk store as a chunk source: serves any chunk the store holds (or those `canServe`
 * allows for the token's image), in its stored form, so compressed files travel as zstd.
 * The node serves from its images; this serves test peers and the p2p bench.
 */
import { readFile } from 'node:fs/promises'
import type { ChunkId, ChunkStore } from '../../protocol/index.ts'
import type { ChunkSource, HeldChunk } from './index.ts'

export function chunkStoreSource (store: ChunkStore, canServe: (image: string, id: ChunkId) => boolean = () => true): ChunkSource {
  return {
    async read (image: string, id: ChunkId): Promise<HeldChunk | undefined> {
      if (!store.has(id) || !canServe(image, id)) return undefined
      let data: Uint8Array
      try {
        data = await readFile(store.pathOf(id))
      } catch {
        return undefined // evicted or deleted since has()
      }
      // the store's verified read moves a damaged file to quarantine/
      return { data, discard: async () => { await store.get(id).catch(() => {}) } }
    }
  }
}
