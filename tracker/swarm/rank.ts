/**
 * Which peers a tracker returns to an announcing node: members of its own site first (LAN
 * transfers cost the branch link nothing), then those holding most chunks (most likely to
 * have what it lacks), then the most recently announced (most likely still up), then peer
 * id so the answer is deterministic; the asker itself left out; at most `max`.
 */

export interface RankablePeer {
  peerId: string
  site: string
  haveCount: number
  announcedAtMs: number
}

export interface RankOptions {
  /** the asking peer: never returned to itself */
  self: string
  /** the asking peer's site */
  site: string
  max: number
}

export function rankPeers<T extends RankablePeer> (candidates: readonly T[], { self, site, max }: RankOptions): T[] {
  if (!Number.isInteger(max) || max < 0) throw new TypeError('max must be a non-negative integer')
  return candidates
    .filter((p) => p.peerId !== self)
    .sort((a, b) =>
      Number(b.site === site) - Number(a.site === site) ||
      b.haveCount - a.haveCount ||
      b.announcedAtMs - a.announcedAtMs ||
      (a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0))
    .slice(0, max)
}
