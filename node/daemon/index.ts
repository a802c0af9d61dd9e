/**
 * The node daemon (`branchcast node`): the long-running client. It composes the node's
 * components — trust (enrolling on first start), the chunk cache, the libp2p peer and its
 * chunk server, the durable event reporter, the puller, and the loopback control API —
 * starts them in order and stops them in reverse.
 */
import type { PrivateKey } from '@libp2p/interface'
import type { Logger } from '../../protocol/index.ts'
import type { NodeConfig } from '../config.ts'
import type { NodeStatus, ReadyImage } from '../control/index.ts'
import type { PeerNode } from '../peer/index.ts'
import type { PullOptions, PullReport } from '../pull/index.ts'
import type { WorkspaceReconciler } from '../workspaces/index.ts'
import type { SeedIndex } from '../seeds/index.ts'
import type { SessionRuntimeInit } from '../session/index.ts'
import { startNodeDaemon } from './daemon.ts'

export { listReadyImages } from './ready-images.ts'
export { planPriority, readPriorityRights } from './cpu-priority.ts'
export type { PriorityPlan, PriorityRights } from './cpu-priority.ts'

export interface NodeDaemonOptions {
  config: NodeConfig
  logger?: Logger
  now?: () => number
  /** a peer key instead of `<dataDir>/peer.key` (in-process tests and demos) */
  privateKey?: PrivateKey
  /** mDNS service tag (separate demos on one LAN do not mix) */
  mdnsServiceTag?: string
  /** re-announce interval of held images (default: what the tracker asks for) */
  seedIntervalMs?: number
  /** event retry delays (tests) */
  eventRetryMinMs?: number
  /** session runtime options (tests: `machine: 'none'`, `accel: 'tcg'`) */
  sessions?: Omit<SessionRuntimeInit, 'dataDir'>
  /** workspace reads from the tracker (default: the config's, else 5 min) */
  reconcileIntervalMs?: number
  /** where published applications' desktop entries go (default `$XDG_DATA_HOME/applications`; tests) */
  applicationsDir?: string
  /**
   * this process is the daemon (`branchcast node`): lower its CPU priority as
   * `config.cpuNice` says, and start QEMU back at the normal one (`cpu-priority.ts`).
   * Off by default: a daemon started inside another process (tests, demos) leaves that
   * process's priority alone.
   */
  ownsProcess?: boolean
}

export interface RunningNode {
  readonly peerId: string
  /** the control API's base URL (also in `<dataDir>/control.json`) */
  readonly controlUrl: string
  readonly config: NodeConfig
  readonly peer: PeerNode
  /** the same pull the control API runs (config's origin rate override applied) */
  pull: (options: PullOptions) => Promise<PullReport>
  images: () => Promise<ReadyImage[]>
  status: () => Promise<NodeStatus>
  /** Waits until every queued event reached the tracker (bounded by `signal`). */
  flushEvents: (options?: { signal?: AbortSignal }) => Promise<void>
  /** Re-announces every ready image now (the seeder also does so periodically). */
  announceHeld: () => Promise<void>
  /** automatic delivery and policy enforcement: status, refresh, and the gate */
  readonly workspaces: WorkspaceReconciler
  /** the seed index: local files and other images as chunk sources (status, refresh) */
  readonly seeds: SeedIndex
  /** Stops everything started, in reverse order; idempotent. */
  stop: () => Promise<void>
}

/** Starts a node. Throws `NodeConfigError` without a tracker URL or (first start) a token. */
export async function startNode (options: NodeDaemonOptions): Promise<RunningNode> {
  return await startNodeDaemon(options)
}

/** The line `branchcast node` prints on stdout once ready; tests and the demo wait for it. */
export function readyLine (node: Pick<RunningNode, 'peerId' | 'controlUrl'>): string {
  return `branchcast node ready peer=${node.peerId} control=${node.controlUrl}`
}

export const READY_LINE_RE = /^branchcast node ready peer=(\S+) control=(\S+)$/
