/**
 * The puller: fetches an image version, peer-assisted, and assembles it ready to run.
 */
import type { ChunkStore } from '../../protocol/index.ts'
import type { Logger } from '../../protocol/index.ts'
import type { FailureKind, OriginReason } from '../scheduler.ts'
import type { PeerNode, PeerBans } from '../peer/index.ts'
import type { TrackerClient } from '../tracker-client.ts'
import type { Trust } from '../trust.ts'
import { pullImage } from './puller.ts'

export { imagePaths } from './puller.ts'
export { assembleImage } from './assemble.ts'

export interface PullOptions {
  image: string
  /** default: the latest published version */
  version?: number | 'latest'
  signal?: AbortSignal
  onProgress?: (p: PullProgress) => void
  /** cap on origin download rate (overrides the policy's; benches model WAN links with it) */
  originRateBytesPerSec?: number
}

export interface PullProgress {
  phase: 'manifest' | 'transfer' | 'assemble' | 'verify' | 'ready'
  totalBytes: number
  doneBytes: number
  bytesFromPeers: number
  bytesFromOrigin: number
  bytesFromLocal: number
}

export interface PullReport {
  image: string
  version: number
  path: string
  sha256: string
  totalBytes: number
  bytesFromPeers: number
  bytesFromOrigin: number
  bytesFromLocal: number
  /** why each origin byte came from the origin */
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
  chunks: ChunkStore
  peer: PeerNode
  dataDir: string
  site: string
  logger: Logger
  now: () => number
  events?: EventSink
  /** the node's ban list, shared across pulls so a liar stays banned for the swarm */
  bans?: PeerBans
}

export interface Puller {
  pull: (options: PullOptions) => Promise<PullReport>
}

export function createPuller (components: PullComponents): Puller {
  return { pull: async (options) => await pullImage(components, options) }
}
