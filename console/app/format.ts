/** Numbers and times as the console shows them. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']

export function bytes (n: number): string {
  if (!Number.isFinite(n)) return '—'
  let v = n
  let u = 0
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) { v /= 1024; u++ }
  return `${u === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${UNITS[u]}`
}

export function percent (ratio: number): string {
  return `${(ratio * 100).toFixed(ratio >= 0.995 || ratio === 0 ? 0 : 1)}%`
}

export function time (ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—'
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19)
}

export function isoTime (iso: string | null | undefined): string {
  return iso === null || iso === undefined ? '—' : time(Date.parse(iso))
}

export function ago (ms: number, nowMs = Date.now()): string {
  const s = Math.max(0, Math.round((nowMs - ms) / 1000))
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.round(s / 60)} min ago`
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`
  return `${Math.round(s / 86_400)} d ago`
}

export function duration (seconds: number): string {
  if (!Number.isFinite(seconds)) return '—'
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`
  if (seconds < 3600) return `${(seconds / 60).toFixed(1)} min`
  return `${(seconds / 3600).toFixed(1)} h`
}
