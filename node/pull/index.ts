/**
 * The puller: fetches an image version, peer-assisted, into its image file in place
 * (the image store), reusing what this disk holds, and marks it ready to run.
 */
import type { ChunkId, Logger } from '../../protocol/index.ts'
import type { ImageStore } from '../image-store/index.ts'
import type { FailureKind, OriginReason } from '../scheduler.ts'
import type { PeerNode, PeerBans } from '../peer/index.ts'
import type { TrackerClient } from '../tracker-client.ts'
import type { Trust } from '../trust.ts'
import { pullImage } from './puller.ts'
import { dryRunPull } from './dry-run.ts'
import type { DryRunOptions, DryRunReport } from './dry-run.ts'
import type { PullDemand } from './demand.ts'
import type { LocalChunkSource } from './local-sources.ts'

export { imagePaths } from '../image-store/index.ts'

export type { ChunkTable } from './chunk-table.ts'
export type { DryRunOptions, DryRunReport } from './dry-run.ts'
export { createPullDemand } from './demand.ts'
export type { PullDemand } from './demand.ts'
export { fillFromLocalSources } from './local-sources.ts'
export type { LocalChunkSource, LocalSourcesResult } from './local-sources.ts'

export interface PullOptions {
  image: string
  /** default: the latest published version */
  version?: number | 'latest'
  signal?: AbortSignal
  onProgress?: (p: PullProgress) => void
  /** cap on origin download rate (overrides the policy's; benches model WAN links with it) */
  originRateBytesPerSec?: number
  /** chunks a reader waits for, fetched ahead of the rest (instant start: `createPullDemand`) */
  demand?: PullDemand
  /** fetch the version's signed boot profile from the origin and take its chunks first (instant start) */
  bootProfile?: boolean
  /** local chunk sources for this pull only (an imported bundle), asked before the node's own */
  localSources?: readonly LocalChunkSource[]
  /**
   * Offline path: the signed manifest root from elsewhere (an imported bundle), verified
   * exactly as one from the tracker (pinned key, rollback floor, `image`, `version`). With
   * it the tracker is not asked for the manifest, and announced to only once something
   * must come from the network; a pull that finds every chunk locally needs no network.
   */
  manifestRoot?: Uint8Array
  /** chunk-list parts from elsewhere, asked before the origin; undefined = not held (the hash is checked on use) */
  listParts?: (id: ChunkId, options: { signal?: AbortSignal }) => Promise<Uint8Array | undefined>
}

/** Progress in decoded bytes (what the image has of its total); the report has wire bytes too. */
export interface PullProgress {
  phase: 'manifest' | 'transfer' | 'assemble' | 'verify' | 'ready'
  totalBytes: number
  doneBytes: number
  bytesFromPeers: number
  bytesFromOrigin: number
  bytesFromLocal: number
}

export interface PullDeltaStats {
  indexEntries: number
  chunks: number
  refused: number
  fallbacks: number
}

export interface PullReport {
  image: string
  version: number
  path: string
  sha256: string
  totalBytes: number
  /** bytes on the wire from peers, as received (chunk payloads, compressed where they came so) */
  bytesFromPeers: number
  /** bytes on the wire from the origin, as received (HTTP bodies: chunks and chunk-list parts) */
  bytesFromOrigin: number
  /** the chunks peers brought, decoded (first arrivals; duplicates not counted) */
  decodedBytesFromPeers: number
  /** the chunks and list parts the origin brought, decoded (first arrivals) */
  decodedBytesFromOrigin: number
  /** image data this disk already had: the version's own bitmap, copies from older versions, local sources */
  bytesFromLocal: number
  /** of bytesFromLocal, what each kind of local source (seed, bundle …) supplied, verified */
  bytesFromLocalSources: Record<string, number>
  /** of bytesFromOrigin, the delta files (wire bytes, as received) */
  deltaBytesFromOrigin: number
  /** the chunk bytes those deltas rebuilt (verified; part of decodedBytesFromOrigin) */
  decodedBytesFromDeltas: number
  /** delta use: index entries, chunks rebuilt, deltas refused (the origin's fault) and given up for the whole chunk (ours) */
  deltas: PullDeltaStats
  /** why each origin byte came from the origin, in wire bytes */
  originBytesByReason: Record<OriginReason, number>
  durationMs: number
  peersUsed: number
  bannedPeers: string[]
  /** failed chunk requests by kind (busy peers, timeouts, bad pieces …) */
  failures: Record<FailureKind, number>
}

/** Where the puller reports events (the node's durable reporter). */
export interface EventSink {
  emit: (type: string, payload: Record<string, unknown>) => void
}

export interface PullComponents {
  tracker: TrackerClient
  trust: Trust
  /** the node's images: pulled into, copied from, served from */
  images: ImageStore
  /** versions of an image kept after a pull (default DEFAULT_KEEP_VERSIONS) */
  keepVersions?: number
  peer: PeerNode
  site: string
  logger: Logger
  now: () => number
  events?: EventSink
  /** the node's ban list, shared across pulls so a liar stays banned for the swarm */
  bans?: PeerBans
  /** the node's local chunk sources (seed indexes …), asked after older versions, before the network */
  localSources?: () => readonly LocalChunkSource[]
}

export interface Puller {
  pull: (options: PullOptions) => Promise<PullReport>
  /** What a pull would take from where, without writing image data or joining the swarm. */
  dryRun: (options: DryRunOptions) => Promise<DryRunReport>
}

export function createPuller (components: PullComponents): Puller {
  return {
    pull: async (options) => await pullImage(components, options),
    dryRun: async (options) => await dryRunPull(components, options)
  }
}
