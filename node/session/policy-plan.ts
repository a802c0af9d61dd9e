/**
 * What a workspace policy means for its VM, as plain functions over plain data: the guest
 * channels the VM has (the one place that maps policy channels to VM channels), the
 * memory, CPUs, mode and locks a start gets, how far a user's request may go (down, never
 * up), and which files the file-transfer channel may carry.
 */
import type { ChannelDirection, GuestChannels, Policy } from '../../protocol/index.ts'
import { SessionError } from './errors.ts'
import type { SessionChannels } from './qemu-args.ts'
import type { SessionMode } from './session-record.ts'

/**
 * The VM channels a policy's guest channels give: a channel whose direction is `off` (or
 * printing that is not on) is absent from the VM — no chardev, no port, no socket.
 */
export function channelsFromPolicy (g: GuestChannels): SessionChannels {
  return { clipboard: g.clipboard !== 'off', fileTransfer: g.fileTransfer.direction !== 'off', printing: g.printing }
}

/** Everything a policy decides about a session. */
export interface SessionPlan {
  mode: SessionMode
  memoryMb: number
  cpus: number
  channels: SessionChannels
  /** directions and the extension allow-list, for the host end of the channels */
  guestChannels: GuestChannels
  /** null = never */
  idleLockMinutes: number | null
  lockOnSuspend: boolean
}

export function planFromPolicy (p: Policy): SessionPlan {
  return {
    mode: p.workspaceMode,
    memoryMb: p.vmMemoryMb,
    cpus: p.vmCpus,
    channels: channelsFromPolicy(p.guestChannels),
    guestChannels: p.guestChannels,
    idleLockMinutes: p.idleLockMinutes,
    lockOnSuspend: p.lockOnSuspend
  }
}

/** What a user may ask for at start: less than the policy gives, never more. */
export interface SessionRequest {
  mode?: SessionMode
  memoryMb?: number
  cpus?: number
  channels?: Partial<SessionChannels>
}

function beyond (what: string): SessionError {
  return new SessionError('ERR_POLICY_LIMIT', `${what}: the workspace policy decides this, and a start may ask for less, never more`)
}

/**
 * The plan after the user's request: lower memory or CPUs and fewer channels are taken;
 * more memory, more CPUs, a channel the policy leaves out, or another mode are refused
 * (`ERR_POLICY_LIMIT`) rather than silently cut, so the user knows what runs.
 */
export function narrowPlan (plan: SessionPlan, r: SessionRequest): SessionPlan {
  if (r.mode !== undefined && r.mode !== plan.mode) throw beyond(`mode ${r.mode} (the policy says ${plan.mode})`)
  if (r.memoryMb !== undefined && r.memoryMb > plan.memoryMb) throw beyond(`${r.memoryMb} MiB of memory (the policy gives ${plan.memoryMb})`)
  if (r.cpus !== undefined && r.cpus > plan.cpus) throw beyond(`${r.cpus} CPUs (the policy gives ${plan.cpus})`)
  const channels = { ...plan.channels }
  for (const [name, on] of Object.entries(r.channels ?? {}) as Array<[keyof SessionChannels, boolean | undefined]>) {
    if (on === true && !plan.channels[name]) throw beyond(`the ${name} channel (the policy leaves it out)`)
    if (on === false) channels[name] = false
  }
  return { ...plan, memoryMb: r.memoryMb ?? plan.memoryMb, cpus: r.cpus ?? plan.cpus, channels }
}

/** Whether `direction` (one transfer's) is within what the policy allows. */
export function directionAllowed (allowed: ChannelDirection, direction: 'host-to-guest' | 'guest-to-host'): boolean {
  return allowed === 'both' || allowed === direction
}

/**
 * Whether the file-transfer channel may carry `fileName` in `direction`: the direction is
 * allowed and the name ends in an extension on the list (compared lowercase; "tar.gz"
 * matches "a.tar.gz"; a name that is only an extension, ".pdf", has none).
 */
export function fileTransferAllowed (g: GuestChannels, direction: 'host-to-guest' | 'guest-to-host', fileName: string): boolean {
  if (!directionAllowed(g.fileTransfer.direction, direction)) return false
  const base = fileName.slice(Math.max(fileName.lastIndexOf('/'), fileName.lastIndexOf('\\')) + 1).toLowerCase()
  return g.fileTransfer.extensions.some((x) => base.length > x.length + 1 && base.endsWith(`.${x}`))
}
