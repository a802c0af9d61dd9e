/**
 * The pull progress line for a terminal: bar, bytes, rate, ETA and where the bytes came
 * from (peers / origin / local). Pure formatting plus a redraw-in-place writer.
 */
import type { PullProgress } from '../pull/index.ts'
import { formatBytes, formatDuration } from './units.ts'

const BAR_CELLS = 24

export interface RateMeter {
  /** bytes/s, smoothed; NaN until two samples */
  sample: (doneBytes: number, atMs: number) => number
}

/** Exponentially smoothed rate over progress samples (half-life ~2 s). */
export function createRateMeter (): RateMeter {
  let lastBytes: number | undefined
  let lastMs = 0
  let rate = Number.NaN
  return {
    sample (doneBytes, atMs) {
      if (lastBytes === undefined || doneBytes < lastBytes) { lastBytes = doneBytes; lastMs = atMs; return rate }
      const dt = atMs - lastMs
      if (dt < 100) return rate
      const instant = (doneBytes - lastBytes) * 1000 / dt
      const alpha = 1 - Math.pow(0.5, dt / 2000)
      rate = Number.isNaN(rate) ? instant : rate + alpha * (instant - rate)
      lastBytes = doneBytes
      lastMs = atMs
      return rate
    }
  }
}

function pct (part: number, whole: number): string {
  return whole <= 0 ? '0%' : `${Math.round(100 * part / whole)}%`
}

export function formatProgress (p: PullProgress, rateBytesPerSec: number, columns = 100): string {
  const frac = p.totalBytes > 0 ? Math.min(1, p.doneBytes / p.totalBytes) : 0
  const filled = Math.round(frac * BAR_CELLS)
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_CELLS - filled)}]`
  const got = p.bytesFromPeers + p.bytesFromOrigin + p.bytesFromLocal
  const rate = Number.isFinite(rateBytesPerSec) && rateBytesPerSec > 0 ? `${formatBytes(rateBytesPerSec)}/s` : '--/s'
  const eta = Number.isFinite(rateBytesPerSec) && rateBytesPerSec > 0 ? formatDuration(1000 * (p.totalBytes - p.doneBytes) / rateBytesPerSec) : '--:--'
  const line = `${p.phase.padEnd(8)} ${bar} ${pct(p.doneBytes, p.totalBytes).padStart(4)} ${formatBytes(p.doneBytes)}/${formatBytes(p.totalBytes)} ${rate} ETA ${eta}` +
    ` | peers ${pct(p.bytesFromPeers, got)} origin ${pct(p.bytesFromOrigin, got)} local ${pct(p.bytesFromLocal, got)}`
  return line.length > columns ? line.slice(0, columns - 1) : line
}

/** Redraws one line on a TTY stream. */
export function createProgressWriter (stream: NodeJS.WriteStream): { update: (p: PullProgress) => void, done: () => void } {
  const meter = createRateMeter()
  let drawn = false
  return {
    update (p) {
      const rate = meter.sample(p.doneBytes, Date.now())
      stream.write(`\r\x1b[2K${formatProgress(p, rate, stream.columns ?? 100)}`)
      drawn = true
    },
    done () { if (drawn) stream.write('\r\x1b[2K') }
  }
}
