/**
 * Download windows: minutes after local midnight, end exclusive, wrapping past midnight
 * when the end is before the start. Pure: the caller passes the time and its local UTC
 * offset.
 */

export interface DownloadWindow { startMinute: number, endMinute: number }

export interface WindowState {
  open: boolean
  /** when it next opens (closed) or closes (open), epoch ms */
  changesAtMs: number
}

const DAY_MIN = 1440

export function windowState (w: DownloadWindow, nowMs: number, utcOffsetMinutes: number): WindowState {
  const localMs = nowMs + utcOffsetMinutes * 60_000
  const minuteStartMs = nowMs - (((localMs % 60_000) + 60_000) % 60_000)
  const minute = Math.floor(localMs / 60_000) % DAY_MIN
  const m = (minute + DAY_MIN) % DAY_MIN
  const open = w.startMinute < w.endMinute
    ? m >= w.startMinute && m < w.endMinute
    : m >= w.startMinute || m < w.endMinute
  const target = open ? w.endMinute : w.startMinute
  const delta = ((target - m) % DAY_MIN + DAY_MIN) % DAY_MIN
  return { open, changesAtMs: minuteStartMs + delta * 60_000 }
}

/** "HH:MM" of a minute of the day. */
export function formatMinute (minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`
}

/** "12:00–13:00". */
export function formatWindow (w: DownloadWindow): string {
  return `${formatMinute(w.startMinute)}–${formatMinute(w.endMinute)}`
}
