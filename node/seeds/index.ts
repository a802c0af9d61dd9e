/**
 * Seeds from local files (issue 13, item 3): the node indexes local sources with the
 * chunking parameters of its images — directories and files the config names, and the
 * node's other images — so a pull takes what they hold before it goes to the network.
 * Exposed to the puller as `LocalChunkSource`s (`sources()`): kind `seed` (files) and
 * kind `image` (other images). The puller hashes every chunk a source gives it.
 */
import type { ChunkingParams, Logger } from '../../protocol/index.ts'
import type { ImageStore } from '../image-store/index.ts'
import type { LocalChunkSource } from '../pull/index.ts'
import { DiskSeedIndex } from './seed-index.ts'

export {
  DEFAULT_SEED_MAX_CHUNKS, DEFAULT_SEED_MAX_DEPTH, DEFAULT_SEED_MAX_FILES, DEFAULT_SEED_READ_BYTES_PER_SEC,
  DEFAULT_SEED_RESCAN_INTERVAL_MS, MAX_SEED_ROOTS, SEED_FIRST_PASS_WAIT_MS, SEED_INDEX_FILE
} from './constants.ts'
export { SeedIndexFileError, decodeSeedIndex, encodeSeedIndex } from './index-file.ts'
export type { SeedFile, SeedParamSet } from './index-file.ts'

export interface SeedIndexInit {
  /** the node's data directory: the index is `<dataDir>/seeds.index` */
  dataDir: string
  /** absolute paths of seed directories or files */
  roots: readonly string[]
  /** cap on indexed chunks; at the cap further files are not indexed (status `full`) */
  maxChunks?: number
  /** files considered per pass */
  maxFiles?: number
  /** directory depth below a root */
  maxDepth?: number
  /** read rate while indexing */
  readBytesPerSec?: number
  /** a full pass again this long after the last one */
  rescanIntervalMs?: number
}

export interface SeedIndexComponents {
  logger: Logger
  /** the node's images: their ready versions are a source, their parameters the ones indexed with */
  images?: ImageStore
}

export interface SeedIndexStatus {
  roots: string[]
  /** chunking parameter sets indexed (chunk boundaries depend on them) */
  paramSets: ChunkingParams[]
  /** files indexed, over all parameter sets */
  files: number
  /** chunks indexed, over all parameter sets */
  chunks: number
  maxChunks: number
  /** the last pass reached the cap: some files are not indexed */
  full: boolean
  /** a pass is running */
  indexing: boolean
  /** passes completed since start */
  passes: number
  /** files opened and read to be chunked since start (unchanged files are not) */
  filesRead: number
  bytesRead: number
  /** chunks of the node's ready image versions (a chunk two versions list counts twice) */
  imageChunks: number
}

export interface SeedIndex {
  /** Loads the saved index and starts indexing in the background. */
  start: () => Promise<void>
  /** Cancels indexing and saves what was indexed. */
  stop: () => Promise<void>
  /** the sources for the puller, usable at any time (what is indexed so far) */
  sources: () => readonly LocalChunkSource[]
  /**
   * Resolves true once the index has completed a pass over the seed roots (at once when
   * there are none, or a pass has ended since start); false after `maxWaitMs` or when the
   * index is not running. A first pull waits on it, so it does not fetch over the WAN what
   * the seed files would have given a minute later.
   */
  whenIndexed: (options: { signal?: AbortSignal, maxWaitMs: number }) => Promise<boolean>
  /** Runs a full pass now and resolves once a pass started after this call has ended. */
  refresh: (options?: { signal?: AbortSignal }) => Promise<void>
  /** The image store changed (a pull ended, a version was deleted): re-read the other images. */
  imagesChanged: () => void
  status: () => SeedIndexStatus
}

export function createSeedIndex (init: SeedIndexInit, components: SeedIndexComponents): SeedIndex {
  if (typeof init?.dataDir !== 'string' || init.dataDir === '') throw new TypeError('dataDir must be a non-empty path')
  for (const r of init.roots) if (typeof r !== 'string' || !r.startsWith('/')) throw new TypeError(`seed roots must be absolute paths: ${String(r)}`)
  for (const [k, v] of Object.entries({ maxChunks: init.maxChunks, maxFiles: init.maxFiles, maxDepth: init.maxDepth, readBytesPerSec: init.readBytesPerSec, rescanIntervalMs: init.rescanIntervalMs })) {
    if (v !== undefined && !(Number.isSafeInteger(v) && v > 0)) throw new TypeError(`${k} must be a positive integer`)
  }
  return new DiskSeedIndex(init, components)
}
