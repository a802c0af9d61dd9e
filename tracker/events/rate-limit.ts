/**
 * Token buckets kept in memory, one per key (per process: two trackers each allow the
 * rate, which is fine for a guard against a runaway client). Pure over an injected clock.
 */

export interface RateLimiterInit {
  /** tokens a full bucket holds: the burst a client may send at once */
  burst: number
  /** tokens added per second */
  perSec: number
  /** buckets kept; the least recently used is dropped beyond this */
  maxKeys: number
}

export type RateDecision = { ok: true } | { ok: false, retryAfterSeconds: number }

export interface RateLimiter {
  /** Take one token from `key`'s bucket at `nowMs`. */
  take: (key: string, nowMs: number) => RateDecision
}

export function createRateLimiter (init: RateLimiterInit): RateLimiter {
  const { burst, perSec, maxKeys } = init
  if (!(burst >= 1) || !(perSec > 0) || !Number.isInteger(maxKeys) || maxKeys < 1) throw new TypeError('rate limiter needs burst >= 1, perSec > 0, maxKeys >= 1')
  // Map iteration order is insertion order: re-inserting on use keeps the LRU at the front.
  const buckets = new Map<string, { tokens: number, atMs: number }>()

  return {
    take (key, nowMs) {
      const b = buckets.get(key) ?? { tokens: burst, atMs: nowMs }
      buckets.delete(key)
      // A clock that steps back refills nothing rather than going negative.
      b.tokens = Math.min(burst, b.tokens + Math.max(0, nowMs - b.atMs) * perSec / 1000)
      b.atMs = nowMs
      let decision: RateDecision
      if (b.tokens >= 1) {
        b.tokens -= 1
        decision = { ok: true }
      } else {
        decision = { ok: false, retryAfterSeconds: (1 - b.tokens) / perSec }
      }
      buckets.set(key, b)
      if (buckets.size > maxKeys) buckets.delete(buckets.keys().next().value as string)
      return decision
    }
  }
}
