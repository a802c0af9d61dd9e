/**
 * How a site splits origin work: the live members of a site, in their stable order (join
 * time, then peer id), take turns by chunk. Member `i` of `n` fetches from the origin the
 * chunks whose index ≡ i (mod n) and gets every other chunk from its site's peers, so a
 * site pulls each chunk from the origin about once.
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
 * The share of `peerId` among `members` (already in the stable site order). A peer not in
 * the list — its membership lapsed between write and read — takes everything: fetching too
 * much from the origin is safe, leaving chunks to nobody is not.
 */
export function originShare (members: ReadonlyArray<{ peerId: string }>, peerId: string): OriginShare {
  const index = members.findIndex((m) => m.peerId === peerId)
  if (index < 0) return WHOLE_SHARE
  return { index, of: members.length }
}

/** Whether distinct chunk `chunkIndex` falls in `share` (what the node applies per chunk). */
export function inShare (share: OriginShare, chunkIndex: number): boolean {
  return chunkIndex % share.of === share.index
}
