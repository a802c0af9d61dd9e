/**
 * Errors of VM sessions, each with a stable code callers can `switch` on. None of them is
 * a peer's fault: they come from our host (QEMU missing, a base image gone) or from the
 * VM we started.
 */

export type SessionErrorCode =
  /** qemu-system-x86_64 or qemu-img is not installed (the message names the Debian package) */
  | 'ERR_QEMU_MISSING'
  /** QEMU exited or failed before its monitor answered */
  | 'ERR_QEMU_START'
  /** the QMP monitor broke its protocol, closed, or answered a command with an error */
  | 'ERR_QMP'
  /** the guest agent did not answer, or answered with an error */
  | 'ERR_GUEST_AGENT'
  /** the read-only base image the session needs is not there */
  | 'ERR_BASE_IMAGE_MISSING'
  /** a persistent overlay's backing file is gone: its changes cannot be used */
  | 'ERR_OVERLAY_BASE_GONE'
  /** a persistent overlay was made over another base (an older version): start would corrupt it */
  | 'ERR_OVERLAY_BASE_CHANGED'
  /** start of a session that is already running */
  | 'ERR_SESSION_RUNNING'
  /** stop, lock, … of a session that is not running */
  | 'ERR_SESSION_NOT_RUNNING'
  /** no ready image of that name on this node */
  | 'ERR_IMAGE_NOT_READY'
  /** the policy gate refuses the image now (expired, offline too long, not assigned, …): the message says why */
  | 'ERR_POLICY_DENIED'
  /** a start asked for more than the workspace policy gives (memory, CPUs, a channel, another mode) */
  | 'ERR_POLICY_LIMIT'
  /** an application launch on a locked VM (its guest is paused and cannot answer) */
  | 'ERR_SESSION_LOCKED'
  /** the workspace policy publishes no application of that name */
  | 'ERR_APP_UNKNOWN'

export class SessionError extends Error {
  readonly code: SessionErrorCode
  /** false: never the remote side's fault (same field as protocol/'s errors) */
  readonly peerFault = false

  constructor (code: SessionErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'SessionError'
    this.code = code
  }
}
