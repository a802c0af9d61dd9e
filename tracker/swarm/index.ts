/**
 * The swarm registry's core: origin-work shares, peer ranking, the `have` bitfield, and the
 * sweeper that expires memberships. State lives in the database (`TrackerStore`), so every
 * tracker process on one database serves the same swarm.
 */
export { originShare, inShare, WHOLE_SHARE } from './origin-share.ts'
export type { OriginShare } from './origin-share.ts'
export { rankPeers } from './rank.ts'
export type { RankablePeer, RankOptions } from './rank.ts'
export { decodeHave, encodeHave, popcount, bitfieldBytes } from './bitfield.ts'
export type { BitfieldProblem, BitfieldResult } from './bitfield.ts'
export { createSwarmSweeper } from './sweeper.ts'
export type { SwarmSweeper, SwarmSweeperComponents, SwarmSweeperInit } from './sweeper.ts'
