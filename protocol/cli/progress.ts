/**
 * Progress of long CLI work (an upload, a pull): one line with a bar, bytes done of the
 * total, a smoothed rate and the time left, redrawn in place on a terminal and never
 * written anywhere else — so `--json` output and logs stay clean.
 */
import { formatBytes, formatClock } from '../units.ts'
import { truncateToWidth } from './text-width.ts'
import { terminalColumns } from './table.ts'

/** Cells in the bar between "[" and "]". */
export const BAR_CELLS = 24
/** Redraws at most this often (a change of label always redraws): ~5 a second reads smoothly. */
export const PROGRESS_REDRAW_MS = 200
/** The rate meter's half-life: long enough to calm bursts, short enough to follow a change of source. */
export const RATE_HALF_LIFE_MS = 2000
/** Samples closer than this are folded into the next: a burst of small writes is not a rate. */
export const RATE_MIN_SAMPLE_MS = 100

export interface ProgressState {
  doneBytes: number
  totalBytes: number
  /** before the bar: what is being done ("transfer", "assemble"); pad it for a steady bar */
  label?: string
  /** after the bar, behind "|": where the bytes come from, and the like */
  detail?: string
}

export interface RateMeter {
  /** Bytes per second, exponentially smoothed; NaN until two samples are far enough apart. */
  sample: (doneBytes: number, atMs: number) => number
}

export function createRateMeter (): RateMeter {
  let lastBytes: number | undefined
  let lastMs = 0
  let rate = Number.NaN
  return {
    sample (doneBytes, atMs) {
      if (lastBytes === undefined || doneBytes < lastBytes) { lastBytes = doneBytes; lastMs = atMs; return rate }
      const dt = atMs - lastMs
      if (dt < RATE_MIN_SAMPLE_MS) return rate
      const instant = (doneBytes - lastBytes) * 1000 / dt
      const alpha = 1 - Math.pow(0.5, dt / RATE_HALF_LIFE_MS)
      rate = Number.isNaN(rate) ? instant : rate + alpha * (instant - rate)
      lastBytes = doneBytes
      lastMs = atMs
      return rate
    }
  }
}

function percent (part: number, whole: number): string {
  return whole <= 0 ? '0%' : `${Math.round(100 * part / whole)}%`
}

/**
 * "transfer [############------------]  50% 50.0 MiB/100 MiB 10.0 MiB/s ETA 00:05 | …",
 * cut to `columns - 1` (a full line would wrap on some terminals).
 */
export function formatProgressLine (p: ProgressState, rateBytesPerSec: number, columns = 80): string {
  const frac = p.totalBytes > 0 ? Math.min(1, Math.max(0, p.doneBytes / p.totalBytes)) : 0
  const filled = Math.round(frac * BAR_CELLS)
  const known = Number.isFinite(rateBytesPerSec) && rateBytesPerSec > 0
  const parts = [
    ...(p.label === undefined ? [] : [p.label]),
    `[${'#'.repeat(filled)}${'-'.repeat(BAR_CELLS - filled)}]`,
    percent(p.doneBytes, p.totalBytes).padStart(4),
    `${formatBytes(p.doneBytes)}/${formatBytes(p.totalBytes)}`,
    known ? `${formatBytes(rateBytesPerSec)}/s` : '--/s',
    `ETA ${known ? formatClock(1000 * Math.max(0, p.totalBytes - p.doneBytes) / rateBytesPerSec) : '--:--'}`
  ]
  const line = parts.join(' ') + (p.detail === undefined ? '' : ` | ${p.detail}`)
  return truncateToWidth(line, columns - 1)
}

/** Where a progress line is drawn: a terminal stream such as `process.stderr`. */
export interface ProgressStream {
  isTTY?: boolean
  columns?: number
  write: (text: string) => unknown
}

export interface ProgressBarInit {
  /** default `process.stderr` */
  stream?: ProgressStream
  /** `--json` was given: draw nothing */
  json?: boolean
  /** default `Date.now` */
  now?: () => number
}

export interface ProgressBar {
  /** Samples the rate; redraws when due. A no-op when the stream is not a terminal or with --json. */
  update: (p: ProgressState) => void
  /** Clears the line (before the result or an error is printed). */
  done: () => void
}

const CLEAR_LINE = '\r\x1b[2K'

/** The progress line on a terminal; nothing at all on a pipe, a file or with `--json`. */
export function createProgressBar (init: ProgressBarInit = {}): ProgressBar {
  const stream = init.stream ?? process.stderr
  const now = init.now ?? Date.now
  if (init.json === true || stream.isTTY !== true) return { update () {}, done () {} }
  const meter = createRateMeter()
  let drawnAtMs = Number.NEGATIVE_INFINITY
  let drawnLabel: string | undefined
  let drawn = false
  return {
    update (p) {
      const t = now()
      const rate = meter.sample(p.doneBytes, t)
      if (drawn && p.label === drawnLabel && t - drawnAtMs < PROGRESS_REDRAW_MS) return
      stream.write(CLEAR_LINE + formatProgressLine(p, rate, terminalColumns(stream)))
      drawnAtMs = t
      drawnLabel = p.label
      drawn = true
    },
    done () {
      if (drawn) stream.write(CLEAR_LINE)
      drawn = false
    }
  }
}
