/**
 * Locking a VM without being asked: after N minutes without input, and when the host
 * suspends. The rules are a pure function over plain data; the measures come from
 * injectable sources so tests need not wait or suspend.
 *
 * **Idle.** QEMU 7.2 offers no measure of guest input: QMP has no query of the last input
 * event (`input-send-event` only injects), and the guest agent has no idle command
 * (`guest-get-users` gives login times). Our VMs have no display of their own either
 * (`-display none`): the user works through published applications on the host desktop.
 * So idle time is the host session's, read from systemd-logind (`IdleHint`,
 * `IdleSinceHintMonotonic`): the desktop environment sets the hint once its own idle
 * delay has passed, so the idle lock cannot come sooner than that delay. Where logind
 * gives no answer the idle lock does not fire (logged once) — it never locks on a guess.
 *
 * **Suspend.** While the host sleeps, the wall clock runs on and the monotonic clock
 * (CLOCK_MONOTONIC) stands still; a check after resume sees the wall clock jump ahead of
 * the monotonic one by the time slept. A jump of more than SUSPEND_GAP_MS locks every
 * session whose policy asks for it. Timers do not run during a suspend, so the lock comes
 * with the first check after resume (within AUTO_LOCK_CHECK_MS). A wall-clock step (NTP)
 * of that size also locks: the safe side.
 */
import { execFile } from 'node:child_process'
import { LOGIND_QUERY_TIMEOUT_MS, SUSPEND_GAP_MS } from '../constants.ts'

/** The host session's input idle time. */
export interface IdleSource {
  /** ms since the last input; undefined when it cannot be known (then no idle lock fires) */
  idleMs: (options?: { signal?: AbortSignal }) => Promise<number | undefined>
}

/** The two clocks a suspend is seen between. */
export interface SessionClock {
  /** wall-clock ms (Date.now) */
  wallMs: () => number
  /** monotonic ms that stand still while the host sleeps (performance.now) */
  monoMs: () => number
}

export const SYSTEM_CLOCK: SessionClock = { wallMs: () => Date.now(), monoMs: () => performance.now() }

/** One reading of both clocks. */
export interface ClockReading { wallMs: number, monoMs: number }

/** ms the host slept between two readings (0 when it did not: small drifts are not sleep). */
export function sleptMs (before: ClockReading, after: ClockReading, gapMs = SUSPEND_GAP_MS): number {
  const gap = (after.wallMs - before.wallMs) - (after.monoMs - before.monoMs)
  return gap > gapMs ? gap : 0
}

/** What the rules look at in a session. */
export interface AutoLockSession {
  image: string
  state: 'running' | 'locked' | 'stopped'
  idleLockMinutes?: number | null
  lockOnSuspend?: boolean
}

export interface AutoLockDecision { image: string, reason: 'idle' | 'suspend' }

/** Which running sessions to lock, and why (a suspend first: it is the more urgent reason). */
export function autoLockDecisions (sessions: AutoLockSession[], seen: { idleMs?: number, sleptMs: number }): AutoLockDecision[] {
  const out: AutoLockDecision[] = []
  for (const s of sessions) {
    if (s.state !== 'running') continue
    if (seen.sleptMs > 0 && s.lockOnSuspend === true) out.push({ image: s.image, reason: 'suspend' })
    else if (s.idleLockMinutes != null && seen.idleMs !== undefined && seen.idleMs >= s.idleLockMinutes * 60_000) out.push({ image: s.image, reason: 'idle' })
  }
  return out
}

/** Parses `loginctl show-session -p IdleHint -p IdleSinceHintMonotonic` output into idle ms at `nowMonoUs`. */
export function parseLogindIdle (text: string, nowMonoUs: bigint): number | undefined {
  const props = new Map(text.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()]))
  const hint = props.get('IdleHint')
  if (hint === 'no') return 0
  const since = props.get('IdleSinceHintMonotonic')
  if (hint !== 'yes' || since === undefined || !/^\d+$/.test(since)) return undefined
  const us = nowMonoUs - BigInt(since)
  return us < 0n ? 0 : Number(us / 1000n)
}

/**
 * The host session's idle time from systemd-logind, through `loginctl` (no D-Bus library
 * needed). The session is `XDG_SESSION_ID` when the daemon runs inside one, else logind's
 * `auto` (the caller's session, or the user's graphical one).
 */
export function logindIdleSource (options: { session?: string, loginctl?: string } = {}): IdleSource {
  const session = options.session ?? process.env.XDG_SESSION_ID ?? 'auto'
  const binary = options.loginctl ?? 'loginctl'
  return {
    idleMs: async (o = {}) => await new Promise((resolve) => {
      const signal = AbortSignal.any([AbortSignal.timeout(LOGIND_QUERY_TIMEOUT_MS), ...(o.signal === undefined ? [] : [o.signal])])
      execFile(binary, ['show-session', session, '-p', 'IdleHint', '-p', 'IdleSinceHintMonotonic'], { signal, maxBuffer: 64 * 1024 }, (err, stdout) => {
        // CLOCK_MONOTONIC in µs: the clock logind's IdleSinceHintMonotonic is on
        resolve(err === null ? parseLogindIdle(stdout, process.hrtime.bigint() / 1000n) : undefined)
      })
    })
  }
}
