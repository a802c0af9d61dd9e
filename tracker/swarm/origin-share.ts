/**
 * How a site splits origin work: the live members of a site, in their stable order (join
 * time, then peer id — `store.siteMembers`), take turns by chunk index. Member `i` of `n`
 * fetches from the origin the chunks whose index ≡ i (mod n) and gets every other chunk
 * from its site's peers, so a site pulls each chunk from the origin about once.
 *
 * The rule is data (`{ index, of }`) the node applies itself; the tracker never sends chunk
 * lists. When a member leaves, the next announces see a smaller `of` and the survivors'
 * shares grow to cover its chunks.
 */

/** "Fetch from the origin the chunks whose index ≡ `index` (mod `of`)." */
export interface OriginShare {
  index: number
  of: number
}

/** The whole origin work: what a peer alone in its site (or unknown to it) gets. */
export const WHOLE_SHARE: OriginShare = { index: 0, of: 1 }

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

/** Whether chunk `chunkIndex` falls in `share` (what the node applies per chunk). */
export function inShare (share: OriginShare, chunkIndex: number): boolean {
  return chunkIndex % share.of === share.index
}
