/**
 * How a site splits origin work: the live members of a site **still pulling** (holding
 * fewer than all chunks), in their stable order (join time, then peer id), take turns by
 * chunk. Member `i` of `n` fetches from the origin the chunks whose index ≡ i (mod n) and
 * nobody holds yet, and gets every other chunk from its site's peers, so a site pulls each
 * chunk from the origin about once whatever order its desks arrive in. A member that holds
 * every chunk needs nothing and never holds a share: a desk joining a site where another
 * already holds the image is alone in the split (`of` 1) and takes from that holder.
 *
 * The index is a **distinct-chunk index**: a version's chunk ids numbered in order of
 * first appearance in its chunk list (a chunk of zeros repeated a thousand times is one
 * index). Every node builds the same numbering from the same signed manifest, so the
 * shares agree without the tracker ever sending chunk lists. (The `have` bitfield, by
 * contrast, is over manifest indexes.)
 *
 * The tracker computes shares (`originShare`); the node applies them (`inShare`). When a
 * member leaves, the next announces see a smaller `of` and the survivors' shares grow to
 * cover its chunks.
 */

/**
 * Why a node fetched a chunk from the origin rather than a peer (the node's scheduler says
 * which for every origin byte; reports, events and the tracker's metrics use these names):
 * `assigned` its share of the pulling nodes' origin work, `policy` peers forbidden,
 * `no-peer` nobody reachable holds it and no other node of the site pulls, `bad-piece`
 * its holders sent bad bytes, `peers-slow` its holders timed out or the peers are
 * measurably slower than the origin, `waited` nobody got it for too long, `chunk-list` a
 * part of the version's signed chunk list (the list is fetched from the origin only, before
 * any chunk: it tells a node what to ask peers for), `on-demand` a running guest is waiting
 * to read it and no peer holds it (instant start).
 */
export const ORIGIN_REASONS = ['assigned', 'policy', 'no-peer', 'bad-piece', 'peers-slow', 'waited', 'chunk-list', 'on-demand'] as const
export type OriginReason = typeof ORIGIN_REASONS[number]

/** "Fetch from the origin the chunks whose distinct-chunk index ≡ `index` (mod `of`)." */
export interface OriginShare {
  index: number
  of: number
}

/** The whole origin work: what a peer alone in its site (or unknown to it) gets. */
export const WHOLE_SHARE: OriginShare = { index: 0, of: 1 }

/** Whether `share` is well formed: integers with 0 ≤ index < of. */
export function isOriginShare (share: OriginShare): boolean {
  return Number.isInteger(share.of) && Number.isInteger(share.index) && share.of >= 1 && share.index >= 0 && share.index < share.of
}

/**
 * The share of `peerId` among the `members` (already in the stable site order) that still
 * pull a version of `chunkCount` chunks. A peer not among them — complete, or its
 * membership lapsed between write and read — gets the whole share: a complete one needs
 * nothing, and for a lapsed one fetching too much from the origin is safe, leaving chunks
 * to nobody is not.
 */
export function originShare (members: ReadonlyArray<{ peerId: string, haveCount: number }>, peerId: string, chunkCount: number): OriginShare {
  const pulling = members.filter((m) => m.haveCount < chunkCount)
  const index = pulling.findIndex((m) => m.peerId === peerId)
  if (index < 0) return WHOLE_SHARE
  return { index, of: pulling.length }
}

/** Whether distinct chunk `chunkIndex` falls in `share` (what the node applies per chunk). */
export function inShare (share: OriginShare, chunkIndex: number): boolean {
  return chunkIndex % share.of === share.index
}
