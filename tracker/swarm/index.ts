/**
 * The swarm registry: nodes announce what they hold of an image version and get back
 * peers (same site first), a peer capability bound to their libp2p peer id, their share of
 * the site's origin work, origin access and their policy's transfer limits.
 *
 * All state is in the database (`TrackerStore`), so every tracker process on one database
 * serves the same swarm. A sweeper, running between `start()` and `stop()`, deletes lapsed
 * memberships and refreshes the swarm-size gauge; reads filter by time anyway. The `have`
 * bitfield and the origin-share rule are agreements with the node: `protocol/swarm/`.
 *
 * Shaped like a libp2p service: `Init` options, `Components` dependencies, a factory that
 * reads options once, `start()` / `stop()`. Throws `TrackerError` codes, never HTTP.
 */
import type { AnnounceAnswer, AnnounceRequest, LeaveRequest } from '../../protocol/index.ts'
import type { Principal, TrackerComponents } from '../env.ts'
import { SwarmRegistry } from './swarm.ts'

export type SwarmComponents = Pick<TrackerComponents, 'store' | 'keys' | 'config' | 'logger' | 'metrics' | 'now' | 'shutdown' | 'identity' | 'policies'>

export interface SwarmInit {
  /** how often the sweeper runs (default `SWARM_SWEEP_INTERVAL_MS`) */
  sweepIntervalMs?: number
}

export interface Swarm {
  /** Starts the sweeper (and a first sweep). */
  start: () => Promise<void>
  stop: () => Promise<void>
  /**
   * Registers the caller's peer for a published image version and answers with peers,
   * capability, origin share, origin access and limits. A policy without peer-to-peer gets
   * no peers, no capability and the whole share, and is not offered to others.
   * Throws `TrackerError` ERR_FORBIDDEN (image not assigned, or the peer id is another
   * user's), ERR_NOT_FOUND, ERR_VERSION_NOT_PUBLISHED, ERR_BAD_REQUEST (a `have` that does
   * not fit the version).
   */
  announce: (principal: Principal, request: AnnounceRequest) => Promise<AnnounceAnswer>
  /** Drops a membership; whether there was one. ERR_FORBIDDEN for another user's peer id (admins may). */
  leave: (principal: Principal, request: LeaveRequest) => Promise<boolean>
}

export function createSwarm (components: SwarmComponents, init: SwarmInit = {}): Swarm {
  return new SwarmRegistry(components, init)
}

export { rankPeers } from './rank.ts'
export type { RankablePeer, RankOptions } from './rank.ts'
export { createSwarmSweeper } from './sweeper.ts'
export type { SwarmSweeper, SwarmSweeperComponents, SwarmSweeperInit } from './sweeper.ts'
