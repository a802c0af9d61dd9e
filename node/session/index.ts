/**
 * VM sessions: a workspace image run under a VM runtime, one session per image. The
 * runtime behind this interface is QEMU (`qemu-sessions.ts`): the guest writes to a
 * per-user qcow2 overlay over the read-only base image (kept across stops for a persistent
 * workspace, reset at every stop for a revertible one), QMP controls the VM, the guest agent
 * runs commands in it, and guest channels the caller does not allow are absent from the VM.
 *
 * VMs outlive the daemon: `attach()` (daemon start) re-attaches to the sessions recorded
 * in `<dataDir>/sessions/` and cleans up those whose QEMU died meanwhile; `detach()`
 * (daemon stop) lets go of them without stopping them. A VM that dies on its own is
 * noticed, reported (`session.crashed`) and cleaned up.
 */
import type { GuestChannels, Logger } from '../../protocol/index.ts'
import type { EventReporter } from '../events/index.ts'
import type { Accelerator } from './accelerator.ts'
import type { AutoLockDecision, IdleSource, SessionClock } from './auto-lock.ts'
import type { GuestExecResult } from './guest-agent.ts'
import type { LazyBacking, SessionChannels, VmPlan } from './qemu-args.ts'
import type { SessionMode } from './session-record.ts'
import { QemuSessions } from './qemu-sessions.ts'

export { SessionError } from './errors.ts'
export type { SessionErrorCode } from './errors.ts'
export { CHANNEL_PORTS, qemuArgs } from './qemu-args.ts'
export type { ChannelName, LazyBacking, SessionChannels, VmPlan } from './qemu-args.ts'
export { QmpClient } from './qmp-client.ts'
export type { QmpEvent } from './qmp-client.ts'
export { GuestAgent } from './guest-agent.ts'
export type { GuestExecResult } from './guest-agent.ts'
export { readBackingFile } from './overlay.ts'
export { sessionDir } from './session-record.ts'
export { setProcessNice } from './qemu-process.ts'
export type { SessionMode, SessionRecord } from './session-record.ts'
export type { Accelerator } from './accelerator.ts'
export { findBaseImage } from './base-image.ts'
export { channelsFromPolicy, directionAllowed, fileTransferAllowed, narrowPlan, planFromPolicy } from './policy-plan.ts'
export type { SessionPlan, SessionRequest } from './policy-plan.ts'
export { UNMANAGED_POLICY_SOURCE, staticPolicySource } from './policy-source.ts'
export type { SessionPolicyCheck, SessionPolicySource } from './policy-source.ts'
export { autoStartSessions, startOptionsFor } from './policy-start.ts'
export type { AutoStartOptions, LazyBaseInfo, LazyBaseSource, StartRequest } from './policy-start.ts'
export { SYSTEM_CLOCK, autoLockDecisions, logindIdleSource, parseLogindIdle, sleptMs } from './auto-lock.ts'
export type { AutoLockDecision, AutoLockSession, ClockReading, IdleSource, SessionClock } from './auto-lock.ts'

export interface SessionStartOptions {
  /** the read-only raw image the overlay is made over */
  baseImagePath: string
  /** the image version the base is, for events and status */
  version?: number
  mode: SessionMode
  /** guest memory (default DEFAULT_SESSION_MEMORY_MB) */
  memoryMb?: number
  /** vCPUs (default DEFAULT_SESSION_CPUS) */
  cpus?: number
  /** guest channels allowed; each one left out is absent from the VM (default: all off) */
  channels?: Partial<SessionChannels>
  /** the policy's channel directions and extension allow-list, kept for the host end of the channels */
  guestChannels?: GuestChannels
  /** lock after this many minutes of host idle time (default: never) */
  idleLockMinutes?: number | null
  /** lock when the host suspends (default false) */
  lockOnSuspend?: boolean
  /** default 'nat' (QEMU user networking) */
  network?: VmPlan['network']
  /** direct kernel boot instead of the disk's boot loader (test guests) */
  boot?: VmPlan['boot']
  /** resolve only once the guest agent answers (bounded by `signal`) */
  waitForAgent?: boolean
  /**
   * The base (`baseImagePath`, which need not exist yet) is still arriving: the VM reads it
   * through this NBD export of the node's (instant start); its overlay names the file all
   * the same, so a start after the image is whole reads the file.
   */
  lazy?: Omit<LazyBacking, 'reconnectDelayS'> & { reconnectDelayS?: number }
  signal?: AbortSignal
}

export type SessionState = 'running' | 'locked' | 'stopped'

export interface SessionStatus {
  image: string
  state: SessionState
  version?: number
  mode?: SessionMode
  pid?: number
  accel?: Accelerator
  memoryMb?: number
  cpus?: number
  channels?: SessionChannels
  overlayPath?: string
  startedAtMs?: number
  uptimeMs?: number
  lockedAtMs?: number
  /** why it is locked: user, idle, suspend, expired, … */
  lockReason?: string
  idleLockMinutes?: number | null
  lockOnSuspend?: boolean
  guestChannels?: GuestChannels
  /** QEMU's own run state (`running`, `paused`, …) */
  qemuStatus?: string
  /** the guest agent has answered in this session */
  agent?: boolean
  /** the base is read through the node's NBD export (started before its image was whole) */
  lazy?: boolean
}

/** How a session ended. */
export interface SessionStopResult {
  image: string
  durationMs: number
  /** the guest did not power down within the timeout and QEMU was ended by force */
  forced: boolean
  exitCode?: number
}

export interface SessionRuntime {
  /** Starts a session (`ERR_SESSION_RUNNING` when one runs); resolves once QMP answers (or the agent, with `waitForAgent`). */
  start: (image: string, options: SessionStartOptions) => Promise<SessionStatus>
  /**
   * Asks the guest to power down (ACPI button, pressed again until the guest agent answers),
   * then after `timeoutMs` forces it: QMP `quit`, SIGTERM, SIGKILL. A revertible
   * workspace's overlay is deleted. `signal` is checked on entry only: a stop, once begun,
   * runs to its end (it is bounded by its own timeouts).
   */
  stop: (image: string, options?: { timeoutMs?: number, signal?: AbortSignal }) => Promise<SessionStopResult>
  /** stop, then start with the options the session had */
  restart: (image: string, options?: { timeoutMs?: number, signal?: AbortSignal }) => Promise<SessionStatus>
  /** Pauses the VM (QMP `stop`); `reason` goes into the `session.locked` event. */
  lock: (image: string, options?: { reason?: string, signal?: AbortSignal }) => Promise<SessionStatus>
  /** Resumes a locked VM (QMP `cont`). */
  unlock: (image: string, options?: { signal?: AbortSignal }) => Promise<SessionStatus>
  status: (image: string, options?: { signal?: AbortSignal }) => Promise<SessionStatus>
  list: (options?: { signal?: AbortSignal }) => Promise<SessionStatus[]>
  /** Resolves once the guest agent answers. */
  waitForAgent: (image: string, options?: { signal?: AbortSignal }) => Promise<void>
  /** Runs a program in the guest through the guest agent and waits for it to end. */
  guestExec: (image: string, path: string, args?: string[], options?: { signal?: AbortSignal, input?: Uint8Array }) => Promise<GuestExecResult>
  /**
   * Starts a command line in the guest through its shell (`/bin/sh -c`, or `cmd.exe /c` in
   * a Windows guest) and reports `app.launched` (`app`, guest `pid`, `durationMs` from
   * `requestedAtMs`, a start of the VM included). With `wait` it resolves once the command
   * ended, with its output; without, once the guest started it.
   */
  launchApp: (image: string, app: { name: string, command: string }, options?: { wait?: boolean, requestedAtMs?: number, signal?: AbortSignal }) => Promise<AppLaunchResult>
  /**
   * Applies the auto-lock rules now: locks running sessions whose policy asks for it when the
   * host suspended since the last check or has been idle long enough. A timer calls it every
   * AUTO_LOCK_CHECK_MS while sessions run; returns what it locked.
   */
  checkAutoLock: (options?: { signal?: AbortSignal }) => Promise<AutoLockDecision[]>
  /** Runs a read-only QMP `query-*` command on the session's VM (diagnostics, tests): `query-chardev`, … */
  query: <T = unknown>(image: string, command: `query-${string}`, options?: { signal?: AbortSignal }) => Promise<T>
  /** KVM when the probe proved it works here, else TCG (probed once per runtime). */
  accelerator: (options?: { signal?: AbortSignal }) => Promise<Accelerator>
  /** Re-attaches to recorded sessions, cleaning up (and reporting) the ones that died. */
  attach: () => Promise<void>
  /** Lets go of every session; the VMs keep running for the next daemon to re-attach. */
  detach: () => Promise<void>
}

export interface SessionRuntimeInit {
  dataDir: string
  /** default `qemu-system-x86_64` (from PATH) */
  qemuBinary?: string
  /** default `qemu-img` */
  qemuImgBinary?: string
  /** `auto` (default): KVM only when the probe proves it works */
  accel?: Accelerator | 'auto'
  /** `none`: QEMU with no board or devices, for fast tests of the control path (default `pc`) */
  machine?: VmPlan['machine']
  /** default DEFAULT_POWERDOWN_TIMEOUT_MS */
  powerdownTimeoutMs?: number
  /** default KVM_PROBE_TIMEOUT_MS */
  kvmProbeTimeoutMs?: number
  /**
   * the nice value each QEMU is set to once spawned (undefined: it keeps the one it
   * inherits): a daemon that runs below normal priority starts its VMs back at normal
   */
  qemuNice?: number
}

/** What `launchApp` did. */
export interface AppLaunchResult {
  image: string
  app: string
  /** the guest's process id */
  pid: number
  /** with `wait`: how the command ended */
  exitCode?: number
  stdout?: string
  stderr?: string
  durationMs: number
}

export interface SessionRuntimeComponents {
  events: Pick<EventReporter, 'report'>
  logger: Logger
  now: () => number
  /** the host session's idle time, for the idle lock (default: systemd-logind) */
  idle?: IdleSource
  /** the clocks a host suspend is seen between (default: Date.now and performance.now) */
  clock?: SessionClock
  /**
   * For VMs on a lazy base: resolves once the chunks the guest's failed reads waited for
   * have arrived. A VM paused by a read error (`rerror=stop`) is reported
   * (`session.paused`) and resumed (`cont`, `session.resumed`) when this resolves.
   */
  lazyDisks?: {
    whenFlowing: (image: string, options: { signal: AbortSignal }) => Promise<void>
    /**
     * Called before a VM on a lazy base starts: its boot's reads are recorded (a boot profile
     * for the version) until the runtime says the guest is up (its agent answered) or drops
     * the recording (the VM failed to start or stopped first). Undefined: nothing records.
     */
    recordBoot?: (exportName: string) => { up: () => void, cancel: () => void } | undefined
  }
}

export function createSessionRuntime (init: SessionRuntimeInit, components: SessionRuntimeComponents): SessionRuntime {
  if (init.dataDir === '') throw new TypeError('dataDir is required')
  for (const k of ['powerdownTimeoutMs', 'kvmProbeTimeoutMs'] as const) {
    const v = init[k]
    if (v !== undefined && (!Number.isInteger(v) || v < 0)) throw new TypeError(`${k} must be a non-negative integer`)
  }
  return new QemuSessions(init, components)
}
