/**
 * The built-in origin's rate cap per node and image: an origin token may carry the most
 * bytes per second its holder may take (the workspace policy's `originRateBytesPerSec`,
 * signed into the token, so the node cannot raise it). Each (token subject, image) has a
 * virtual clock: a chunk of n bytes is sent once the clock allows, and moves it on by
 * n / rate; one second of rate may go at once (a burst). A request that would wait longer
 * than `maxWaitMs` is refused instead (429 + `retry-after`), so a node that ignores the cap
 * cannot pile up waiting requests. Pure over the clock it is given.
 */

export interface OriginPacerInit {
  /** the longest a request is held before it is refused instead */
  maxWaitMs: number
  /** (subject, image) clocks kept; the least recently used is dropped beyond this */
  maxKeys: number
}

export type PaceDecision = { ok: true, waitMs: number } | { ok: false, retryAfterSeconds: number }

export interface OriginPacer {
  /** Books `bytes` for `key` at `rateBytesPerSec`: how long to hold the answer, or refuse. */
  book: (key: string, bytes: number, rateBytesPerSec: number, nowMs: number) => PaceDecision
}

export function createOriginPacer (init: OriginPacerInit): OriginPacer {
  const { maxWaitMs, maxKeys } = init
  if (!(maxWaitMs >= 0) || !Number.isSafeInteger(maxKeys) || maxKeys < 1) throw new TypeError('pacer needs maxWaitMs >= 0 and maxKeys >= 1')
  /** per key: when the bytes booked so far will have gone out at the rate */
  const clocks = new Map<string, number>()
  return {
    book (key, bytes, rateBytesPerSec, nowMs) {
      const burstMs = 1000
      const free = Math.max(nowMs - burstMs, clocks.get(key) ?? -Infinity)
      const waitMs = Math.max(0, free - nowMs)
      if (waitMs > maxWaitMs) return { ok: false, retryAfterSeconds: Math.ceil((waitMs - maxWaitMs) / 1000) }
      clocks.delete(key)
      clocks.set(key, free + bytes * 1000 / rateBytesPerSec)
      if (clocks.size > maxKeys) clocks.delete(clocks.keys().next().value as string)
      return { ok: true, waitMs }
    }
  }
}
