/**
 * The image store: on a desk the image file is the store. Each version held is one sparse
 * file written in place at its chunks' offsets (`images/<name>/<n>.img.partial`, renamed
 * to `<n>.img` once every chunk is in) with a presence bitmap beside it (`<n>.have`), its
 * signed manifest (`<n>.manifest`), and the chunk-list parts in a small content-addressed
 * cache (`parts/`). It is also what the chunk server serves from (a `ChunkSource`): a
 * chunk of the image the capability names, read by offset and verified before it goes
 * out. No second copy of image data exists.
 */
import type { ChunkId, FetchPart, Logger, Manifest } from '../../protocol/index.ts'
import type { ChunkPlaces, ChunkSource, HeldChunk } from '../peer/index.ts'
import { ImageStore as ImageStoreImpl } from './image-store.ts'
import type { ImageVersion } from './image-version.ts'
import type { ChunkTable } from '../pull/chunk-table.ts'

export { imagePaths } from './paths.ts'
export type { VersionPaths } from './paths.ts'
export type { ImageVersion } from './image-version.ts'

/** A chunk found damaged on disk (reported as a `chunk.corrupt` event by the daemon). */
export interface CorruptChunk {
  image: string
  version: number
  chunkId: ChunkId
  offset: number
}

export interface ImageStoreInit {
  /** the node's data directory: images under `images/`, list parts under `parts/` */
  dataDir: string
  logger: Logger
  /** told of every chunk that failed verification on disk (and was dropped) */
  onCorrupt?: (chunk: CorruptChunk) => void
  /** the versions of an image running VM sessions use: never deleted, by prune or otherwise */
  inUse?: (image: string) => Promise<number[]>
}

export interface ImageStoreStats {
  /** bytes and count of cached chunk-list parts */
  partsBytes: number
  parts: number
}

export interface ImageStore extends ChunkSource {
  /**
   * The version a verified manifest names, to pull into: the one held (ready or partial,
   * with what its bitmap proves) or a new sparse file. Missing list parts come from
   * `fetchPart` and are cached; the signed root is saved beside the image.
   */
  openForPull: (manifest: Manifest, root: Uint8Array, options: { fetchPart: FetchPart, signal?: AbortSignal }) => Promise<ImageVersion>
  /**
   * A version's chunk table without opening a file for it (a dry run): list parts from the
   * cache, else from `fetchPart` (then cached; list parts are not image data).
   */
  chunkTable: (manifest: Manifest, options: { fetchPart: FetchPart, signal?: AbortSignal }) => Promise<ChunkTable>
  /** Versions of `image` held (ready or partial), newest first. */
  versions: (image: string) => Promise<ImageVersion[]>
  /** A chunk of the image `image`, read from the newest version holding it; not yet verified. */
  read: (image: string, id: ChunkId) => Promise<HeldChunk | undefined>
  /** Where chunks lie in the versions' image files, for the chunk server to read many at once. */
  places: ChunkPlaces
  /** Checks bytes read from `version` against unit `u`'s id; a mismatch discards the unit (and reports it). */
  verified: (version: ImageVersion, u: number, bytes: Uint8Array) => Promise<boolean>
  /** Deletes all but the newest `keep` versions of `image` (but never one in use) and list parts nothing names; resolves to the versions deleted. */
  prune: (image: string, keep: number) => Promise<number[]>
  /** Deletes these versions of `image` (ready or partial) except any a session uses; resolves to the versions deleted. */
  deleteVersions: (image: string, versions: readonly number[]) => Promise<number[]>
  /** Names of the images with at least one version on disk, sorted. */
  heldImages: () => Promise<string[]>
  stats: () => ImageStoreStats
  /** Flushes and closes every open image file. */
  close: () => Promise<void>
}

export async function createImageStore (init: ImageStoreInit): Promise<ImageStore> {
  if (typeof init?.dataDir !== 'string' || init.dataDir === '') throw new TypeError('dataDir must be a non-empty path')
  return await ImageStoreImpl.create(init)
}
