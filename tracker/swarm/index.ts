/**
 * The swarm registry's core: peer ranking and the sweeper that expires memberships (the
 * `have` bitfield and the origin-share rule are agreements: `protocol/swarm/`). State lives in the database (`TrackerStore`), so every
 * tracker process on one database serves the same swarm.
 */
export { rankPeers } from './rank.ts'
export type { RankablePeer, RankOptions } from './rank.ts'
export { createSwarmSweeper } from './sweeper.ts'
export type { SwarmSweeper, SwarmSweeperComponents, SwarmSweeperInit } from './sweeper.ts'
