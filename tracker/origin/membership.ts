/**
 * "Does this chunk belong to a published (or retired, still rollback-able) version of
 * this image?" — the check that gives an origin token's image binding its meaning. Backed
 * by `store.imageHasChunk`, with a small positive cache (see constants.ts for why a
 * positive answer may be reused briefly; negative answers are never cached, so a version
 * published a moment ago is served at once).
 */
import { MEMBERSHIP_CACHE_ENTRIES, MEMBERSHIP_CACHE_TTL_MS } from './constants.ts'

export interface MembershipCheckInit {
  /** `TrackerStore.imageHasChunk` */
  store: { imageHasChunk: (imageName: string, chunkId: string) => Promise<boolean> }
  now: () => number
  maxEntries?: number
  ttlMs?: number
}

export type MembershipCheck = (image: string, chunkId: string) => Promise<boolean>

export function createMembershipCheck (init: MembershipCheckInit): MembershipCheck {
  const maxEntries = init.maxEntries ?? MEMBERSHIP_CACHE_ENTRIES
  const ttlMs = init.ttlMs ?? MEMBERSHIP_CACHE_TTL_MS
  // Map keeps insertion order: re-inserting on a hit makes the first key the least recent.
  const yes = new Map<string, number>()

  return async function imageHasChunk (image, chunkId) {
    const key = `${chunkId} ${image}`
    const until = yes.get(key)
    const now = init.now()
    if (until !== undefined) {
      yes.delete(key)
      if (until > now) { yes.set(key, until); return true }
    }
    if (!await init.store.imageHasChunk(image, chunkId)) return false
    yes.set(key, now + ttlMs)
    if (yes.size > maxEntries) yes.delete(yes.keys().next().value!)
    return true
  }
}
