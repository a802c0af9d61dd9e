/**
 * The image repository: publish a version by streaming an upload through the chunker into
 * the content-addressed chunk store, sign its manifest, and manage the version lifecycle
 * (draft → published → retired, rollback under a new number) and garbage collection.
 *
 * Shaped like a libp2p service: `Init` options, `Components` dependencies, a factory that
 * reads options once, `start()` / `stop()`.
 */
import type { GcResult, UploadResult } from '../../protocol/index.ts'
import type { TrackerComponents } from '../env.ts'
import type { ImageRecord, VersionRecord } from '../db/store.ts'
import { ImageRepositoryService } from './repository.ts'

export { bootProfileState, clearBootProfileCandidates, listBootProfileCandidates, publishBootProfile, readBootProfile, submitBootProfileCandidate } from './boot-profiles.ts'
export type { BootProfileComponents, PublishBootProfileInput, SubmitBootProfileInput } from './boot-profiles.ts'
export { mergeBootRecordings } from './boot-profile-merge.ts'
export { BOOT_PROFILE_QUORUM, BOOT_PROFILE_SUBMITS_PER_MINUTE, MAX_BOOT_PROFILE_CANDIDATES } from './constants.ts'

export type ImageRepositoryComponents = Pick<TrackerComponents, 'store' | 'chunks' | 'keys' | 'config' | 'logger' | 'metrics' | 'now' | 'shutdown'>

export interface ImageRepositoryInit {
  /** largest upload in bytes (default `MAX_UPLOAD_BYTES`) */
  maxUploadBytes?: number
  /** how long a retired version keeps its chunks from GC (default `RETIRED_KEEP_MS`) */
  retiredKeepMs?: number
  /** upload lease lifetime without a heartbeat (default `UPLOAD_LEASE_TTL_MS`) */
  leaseTtlMs?: number
  /** heartbeat interval (default `UPLOAD_HEARTBEAT_MS`) */
  heartbeatMs?: number
  /** an upload sending nothing for this long fails with 408 (default `UPLOAD_IDLE_TIMEOUT_MS`) */
  uploadIdleMs?: number
  /** an upload slower than this on average over a window fails with 408 ERR_UPLOAD_TOO_SLOW (default `UPLOAD_MIN_BYTES_PER_SEC`) */
  uploadMinBytesPerSec?: number
  /** the window the minimum rate is averaged over (default `UPLOAD_RATE_WINDOW_MS`) */
  uploadRateWindowMs?: number
  /**
   * Earlier published versions whose chunks are delta bases for a new version's chunks
   * (default `DELTA_BASE_VERSIONS`; 0 computes no deltas)
   */
  deltaVersions?: number
  /** zstd level of deltas, 1..22 (default `DEFAULT_DELTA_LEVEL`) */
  deltaLevel?: number
}

export interface PublishInput {
  image: string
  /** the image bytes; consumed once, never buffered whole */
  source: AsyncIterable<Uint8Array>
  /** the user publishing, recorded on the version */
  createdBy: string
  /** the length the client declared (Content-Length): fewer or more bytes fail the upload */
  declaredBytes?: number
  /** publish the version right away instead of leaving a finalized draft */
  publish?: boolean
  signal?: AbortSignal
}

/** What a publish made: the upload answer of the API, less the image name the caller gave. */
export type PublishResult = Omit<UploadResult, 'image'>

export type { GcResult }

/** An image and the number of its highest published version (null when none). */
export interface ImageEntry {
  image: ImageRecord
  latestVersion: number | null
}

export interface ImageRepository {
  start: () => Promise<void>
  /** Aborts running uploads (they roll back) and waits for them. */
  stop: () => Promise<void>
  /** Creates an image without versions. Throws `ERR_STORE_CONFLICT` when the name is taken. */
  createImage: (name: string, description?: string) => Promise<ImageEntry>
  /** Every image, or only those named in `only` (a user's assigned images). */
  listImages: (only?: ReadonlySet<string>) => Promise<ImageEntry[]>
  /** One image; ERR_NOT_FOUND when absent. */
  getImage: (name: string) => Promise<ImageEntry>
  /**
   * Streams an upload into a new version. On any failure or abort the draft is deleted
   * and the lease ended; chunk files already written stay, unreferenced, for GC.
   * Throws `TrackerError` ERR_NOT_FOUND (no image), ERR_PAYLOAD_TOO_LARGE (over the cap), ERR_BAD_REQUEST (truncated or empty upload).
   */
  publish: (input: PublishInput) => Promise<PublishResult>
  /** draft → published. */
  publishVersion: (image: string, number: number) => Promise<VersionRecord>
  /** published → retired. */
  retireVersion: (image: string, number: number) => Promise<VersionRecord>
  /**
   * Deletes a finalized draft (one never published); its chunk files stay for GC. ERR_CONFLICT
   * for a published or retired version (retire it instead) or a draft still uploading.
   */
  deleteDraft: (image: string, number: number) => Promise<void>
  /** Republishes version `to`'s content under a new, higher number (`sourceOf = to`). */
  rollback: (image: string, to: number, createdBy: string, options?: { signal?: AbortSignal }) => Promise<VersionRecord>
  listVersions: (image: string) => Promise<VersionRecord[]>
  /** A version by number, or the latest published for `'latest'`; 404 when absent. */
  getVersion: (image: string, number: number | 'latest') => Promise<VersionRecord>
  /** Signed manifest root bytes of a finalized version; 404 for a draft still uploading. */
  getManifest: (image: string, number: number | 'latest') => Promise<{ version: VersionRecord, bytes: Uint8Array }>
  /**
   * Resolves once no delta computation runs or waits. A publish answers before its
   * version's deltas exist; they are computed after it, one version at a time.
   */
  deltasIdle: () => Promise<void>
  /** Deletes chunk files no protecting version references and abandoned drafts. */
  gc: (options?: { signal?: AbortSignal }) => Promise<GcResult>
}

export function createImageRepository (components: ImageRepositoryComponents, init: ImageRepositoryInit = {}): ImageRepository {
  return new ImageRepositoryService(components, init)
}
