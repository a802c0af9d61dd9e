/**
 * Human-written quantities, one grammar wherever people type them (every CLI, the API's
 * query strings and policy fields): durations ("30d", "1d12h", "500ms"), sizes and byte
 * rates ("64MiB", "10MB/s"), times ("2026-11-28T10:00Z" or epoch ms) and daily download
 * windows ("22:00-06:00"); and the same quantities written back for people. Pure
 * functions; each parser throws `TypeError` naming what it could not read.
 */

/** A daily window in minutes after local midnight; `endMinute < startMinute` wraps past midnight. */
export interface DownloadWindow {
  startMinute: number
  endMinute: number
}

const DURATION_UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000
}
const DURATION_RE = /^(?:\d{1,9}(?:ms|[smhdw]))+$/
const DURATION_PART_RE = /(\d{1,9})(ms|[smhdw])/g

/** At most this many characters: a duration is a few units, not a document. */
export const MAX_DURATION_CHARS = 40

/** "30d", "12h", "1d12h", "90s", "500ms" → milliseconds (> 0). Months and years are ambiguous: not accepted. */
export function parseDurationMs (text: string): number {
  const s = text.trim()
  if (s.length > MAX_DURATION_CHARS || !DURATION_RE.test(s)) throw new TypeError(`not a duration (like 30d, 12h, 1d12h): ${JSON.stringify(text)}`)
  let ms = 0
  for (const [, n, unit] of s.matchAll(DURATION_PART_RE)) ms += Number(n) * DURATION_UNIT_MS[unit as string]!
  if (ms <= 0 || !Number.isSafeInteger(ms)) throw new TypeError(`duration out of range: ${JSON.stringify(text)}`)
  return ms
}

/** Is `text` a duration `parseDurationMs` reads? For schemas that refine a string. */
export function isDuration (text: string): boolean {
  try { parseDurationMs(text); return true } catch { return false }
}

/** Epoch ms (digits) or an ISO 8601 time → epoch ms; undefined when it is neither. */
export function parseTimeMs (text: string): number | undefined {
  if (/^\d{1,16}$/.test(text)) return Number(text)
  const ms = Date.parse(text)
  return Number.isNaN(ms) ? undefined : ms
}

/**
 * Milliseconds → the largest exact unit ("7d", "36h", "90s"): a policy duration, written
 * so `parseDurationMs` reads it back. Elapsed time on a terminal is `formatClock`.
 */
export function formatDuration (ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm', 's']) {
    const size = DURATION_UNIT_MS[unit]!
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`
  }
  return `${ms}ms`
}

/** Milliseconds → a clock for elapsed or remaining time: "01:05", "1:02:03"; "--:--" when unknown. */
export function formatClock (ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '--:--'
  const s = Math.round(ms / 1000)
  const h = Math.floor(s / 3600)
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0')
  const ss = String(s % 60).padStart(2, '0')
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`
}

// Sizes and rates share one grammar: a number, an optional unit (decimal SI; binary with
// "i"), an optional "/s". "ps" suffixes are refused: "kbps" reads as kilobits as often as
// kilobytes.
const BYTE_UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12,
  ki: 1024, kib: 1024, mi: 1024 ** 2, mib: 1024 ** 2, gi: 1024 ** 3, gib: 1024 ** 3, ti: 1024 ** 4, tib: 1024 ** 4
}
const BYTES_RE = /^(\d+(?:\.\d+)?)\s*([a-z]*)(?:\/s)?$/i

function readBytes (text: string, what: string, examples: string): number {
  const m = BYTES_RE.exec(text.trim())
  const unit = BYTE_UNITS[(m?.[2] ?? '?').toLowerCase()]
  if (m === null || unit === undefined) throw new TypeError(`not a ${what} (like ${examples}): ${JSON.stringify(text)}`)
  const value = Math.round(Number(m[1]) * unit)
  if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`${what} out of range: ${JSON.stringify(text)}`)
  return value
}

/**
 * "64MiB", "2GB", "1.5KiB", "3 k", "1048576" → bytes (> 0). The grammar of
 * `parseRateBytesPerSec`, so a trailing "/s" is read too (the node's size flags took one).
 */
export function parseBytes (text: string): number {
  return readBytes(text, 'size', '1048576, 64MiB, 2GB')
}

/** "10MB/s", "512KiB/s", "1.5GB/s", "20000" → bytes per second: a size, "/s" optional. */
export function parseRateBytesPerSec (text: string): number {
  return readBytes(text, 'byte rate', '10MB/s, 512KiB/s')
}

const BYTE_UNIT_NAMES = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

/** A count of one unit as printed: whole bytes; else one decimal below 100, none from 100. */
function shown (value: number, unit: number): string {
  return unit === 0 ? String(Math.round(value)) : value.toFixed(value >= 99.95 ? 0 : 1)
}

/**
 * Bytes → binary units for people: "0 B", "700 B", "1.5 KiB", "64.0 MiB", "300 GiB".
 * `parseBytes` reads every result back, to the precision shown.
 */
export function formatBytes (bytes: number): string {
  let value = bytes
  let unit = 0
  while (unit < BYTE_UNIT_NAMES.length - 1 && Number(shown(value, unit)) >= 1024) {
    value /= 1024
    unit++
  }
  return `${shown(value, unit)} ${BYTE_UNIT_NAMES[unit]}`
}

const WINDOW_RE = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/

/**
 * "22:00-06:00" → minutes after local midnight; a window may wrap past midnight. A window
 * that starts where it ends is refused: "any time" is no window at all.
 */
export function parseDownloadWindow (text: string): DownloadWindow {
  const m = WINDOW_RE.exec(text.trim())
  if (m === null) throw new TypeError(`not a download window (HH:MM-HH:MM): ${JSON.stringify(text)}`)
  const startMinute = Number(m[1]) * 60 + Number(m[2])
  const endMinute = Number(m[3]) * 60 + Number(m[4])
  if (startMinute === endMinute) throw new TypeError('a download window must not start where it ends (leave it unset for any time)')
  return { startMinute, endMinute }
}

export function formatDownloadWindow (w: DownloadWindow): string {
  const hhmm = (m: number): string => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`
  return `${hhmm(w.startMinute)}-${hhmm(w.endMinute)}`
}
