/**
 * Offline media: `make` writes a self-verifying bundle of a version this node holds (its
 * signed manifest root, its chunk-list parts, and the chunks a node at version M lacks);
 * `import` pulls the version the bundle names with the bundle as a local chunk source,
 * after the same manifest checks as any pull. The format is in format.ts and README.md.
 */
import type { OriginAccess } from '../../protocol/index.ts'
import type { ImageStore } from '../image-store/index.ts'
import type { PullOptions, PullProgress, PullReport } from '../pull/index.ts'
import type { TrackerClient } from '../tracker-client.ts'
import type { Trust } from '../trust.ts'
import { createBundler } from './bundler.ts'

export { BundleError } from './errors.ts'
export type { BundleErrorCode } from './errors.ts'
export { openBundle } from './reader.ts'
export type { BundleSource, OpenBundle } from './reader.ts'
export { writeBundle } from './writer.ts'
export type { BundleContents, WriteBundleResult } from './writer.ts'

export interface MakeBundleRequest {
  image: string
  /** default: the newest ready version held */
  version?: number
  /** leave out the chunks version `since` has */
  since?: number
  /** absolute path of the bundle to write */
  out: string
  /** replace an existing `out` */
  force?: boolean
}

export interface MakeBundleReport {
  image: string
  version: number
  since: number | null
  path: string
  /** chunks in the bundle, and their decoded bytes */
  chunks: number
  chunkBytes: number
  /** the bundle file's size */
  fileBytes: number
  durationMs: number
}

export interface BundleProgress { phase: 'write', doneBytes: number, totalBytes: number }

export interface ImportReport {
  pull: PullReport
  bundle: {
    path: string
    /** chunks the bundle holds */
    chunks: number
    /** chunks refused because they did not hash to their id (fetched from the network instead) */
    refused: number
    /** decoded bytes taken from the bundle */
    bytesUsed: number
  }
}

export interface BundlerComponents {
  images: ImageStore
  trust: Trust
  /** the version M's manifest when it is not held */
  tracker: Pick<TrackerClient, 'manifest'>
  /** origin access for M's chunk-list parts when M is not held */
  originAccess: (image: string, options: { signal?: AbortSignal }) => Promise<OriginAccess>
  /** the node's pull (one per image at a time) */
  pull: (options: PullOptions) => Promise<PullReport>
  now: () => number
}

export interface Bundler {
  make: (request: MakeBundleRequest, options?: { signal?: AbortSignal, onProgress?: (p: BundleProgress) => void }) => Promise<MakeBundleReport>
  /** `path` absolute */
  import: (path: string, options?: { signal?: AbortSignal, onProgress?: (p: PullProgress) => void }) => Promise<ImportReport>
}

export { createBundler }
