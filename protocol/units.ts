/**
 * Human-written quantities, one grammar wherever people type them (every CLI, the API's
 * query strings and policy fields): durations ("30d", "1d12h", "500ms"), byte rates
 * ("10MB/s", "512KiB/s"), times ("2026-11-28T10:00Z" or epoch ms) and daily download
 * windows ("22:00-06:00"). Pure functions; each throws `TypeError` naming what it could
 * not read.
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

/** Milliseconds → the largest exact unit ("7d", "36h", "90s"). */
export function formatDuration (ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm', 's']) {
    const size = DURATION_UNIT_MS[unit]!
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`
  }
  return `${ms}ms`
}

const RATE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1000,
  kb: 1000,
  m: 1_000_000,
  mb: 1_000_000,
  g: 1_000_000_000,
  gb: 1_000_000_000,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3
}
// "ps" suffixes are refused: "kbps" reads as kilobits as often as kilobytes.
const RATE_RE = /^(\d+(?:\.\d+)?)\s*([a-z]*)(?:\/s)?$/i

/** "10MB/s", "512KiB/s", "1.5GB/s", "20000" → bytes per second (decimal SI, binary with "i"). */
export function parseRateBytesPerSec (text: string): number {
  const m = RATE_RE.exec(text.trim())
  const unit = RATE_UNITS[(m?.[2] ?? '?').toLowerCase()]
  if (m === null || unit === undefined) throw new TypeError(`not a byte rate (like 10MB/s, 512KiB/s): ${JSON.stringify(text)}`)
  const value = Math.round(Number(m[1]) * unit)
  if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`byte rate out of range: ${JSON.stringify(text)}`)
  return value
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
