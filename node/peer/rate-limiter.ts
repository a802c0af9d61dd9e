/**
 * A token bucket in bytes per second, pure: the caller passes `nowMs`. Callers reserve
 * before sending and wait the returned delay; tokens may go negative, so concurrent
 * senders queue behind each other in reservation order instead of all waking at once.
 */

export interface TokenBucketInit {
  rateBytesPerSec: number
  /** bucket depth; the first `burstBytes` go out at once */
  burstBytes: number
  nowMs: number
}

export interface TokenBucket {
  /** Takes `bytes` and returns how long (ms, ≥ 0) to wait before sending them. */
  reserve: (bytes: number, nowMs: number) => number
  /** tokens available now (negative while senders are queued) */
  available: (nowMs: number) => number
}

export function createTokenBucket (init: TokenBucketInit): TokenBucket {
  const { rateBytesPerSec, burstBytes } = init
  if (!(Number.isFinite(rateBytesPerSec) && rateBytesPerSec > 0)) throw new TypeError('rateBytesPerSec must be a positive number')
  if (!(Number.isFinite(burstBytes) && burstBytes > 0)) throw new TypeError('burstBytes must be a positive number')
  let tokens = burstBytes
  let lastMs = init.nowMs

  function refill (nowMs: number): void {
    // a clock that steps back must not mint tokens
    if (nowMs > lastMs) {
      tokens = Math.min(burstBytes, tokens + (nowMs - lastMs) * rateBytesPerSec / 1000)
      lastMs = nowMs
    }
  }

  return {
    reserve (bytes, nowMs) {
      if (!(Number.isFinite(bytes) && bytes >= 0)) throw new TypeError('bytes must be a non-negative number')
      refill(nowMs)
      tokens -= bytes
      return tokens >= 0 ? 0 : Math.ceil(-tokens * 1000 / rateBytesPerSec)
    },
    available (nowMs) {
      refill(nowMs)
      return tokens
    }
  }
}
