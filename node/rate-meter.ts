/**
 * A source's observed transfer rate, pure (callers pass `nowMs`): bytes received divided
 * by the time the source had requests in flight, both decayed with a half-life so the
 * rate follows the last few seconds rather than the whole pull. Time with nothing asked
 * of the source does not count against it: an idle peer is not a slow one.
 */
export class RateMeter {
  private readonly halfLifeMs: number
  private bytes = 0
  private busyMs = 0
  private lastMs: number

  constructor (halfLifeMs: number, nowMs: number) {
    if (!(halfLifeMs > 0)) throw new TypeError('halfLifeMs must be positive')
    this.halfLifeMs = halfLifeMs
    this.lastMs = nowMs
  }

  /** Moves the clock to `nowMs`; `busy` says whether the source had work in flight since the last call. */
  advance (nowMs: number, busy: boolean): void {
    const dt = nowMs - this.lastMs
    if (dt <= 0) return
    const decay = 0.5 ** (dt / this.halfLifeMs)
    this.bytes *= decay
    this.busyMs = (this.busyMs + (busy ? dt : 0)) * decay
    this.lastMs = nowMs
  }

  /** Bytes that arrived at the current time (call `advance` first). */
  add (bytes: number): void { this.bytes += bytes }

  /** Decayed busy time behind the estimate: how much evidence there is. */
  get observedMs (): number { return this.busyMs }

  /** Bytes per second, or undefined with less than `minObservedMs` of (decayed) busy time. */
  rateBytesPerSec (minObservedMs: number): number | undefined {
    if (this.busyMs < minObservedMs || this.busyMs <= 0) return undefined
    return this.bytes / this.busyMs * 1000
  }
}
