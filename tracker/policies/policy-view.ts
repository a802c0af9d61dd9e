/**
 * Policy records as the API answers them (`protocol/api/policies.ts`, `protocol/api/me.ts`).
 * Pure.
 */
import { formatDownloadWindow, isoTime } from '../../protocol/index.ts'
import type { Assignment, Policy, Workspace } from '../../protocol/index.ts'
import type { AssignmentRecord, PolicyRecord, VersionRecord } from '../db/store.ts'
import type { ResolvedWorkspace } from './workspaces.ts'

export function policyView (p: PolicyRecord): Policy {
  return {
    id: p.id,
    name: p.name,
    image: p.imageName,
    channel: p.pinnedVersion === null ? 'latest' : 'pinned',
    pinnedVersion: p.pinnedVersion,
    expiresAt: isoTime(p.expiresAtMs),
    expiresAtMs: p.expiresAtMs,
    offlineGraceSeconds: p.offlineGraceSeconds,
    p2pAllowed: p.p2pAllowed,
    originRateBytesPerSec: p.originRateBytesPerSec,
    downloadWindow: p.downloadWindow === null ? null : { ...p.downloadWindow, text: formatDownloadWindow(p.downloadWindow) },
    vmMemoryMb: p.vmMemoryMb,
    vmCpus: p.vmCpus,
    publishedApps: p.publishedApps.map((a) => a.icon === undefined ? { name: a.name, command: a.command } : { name: a.name, command: a.command, icon: a.icon }),
    startup: { mode: p.startup.mode, ...(p.startup.fullscreen === undefined ? {} : { fullscreen: p.startup.fullscreen }) },
    workspaceMode: p.workspaceMode,
    guestChannels: { clipboard: p.guestChannels.clipboard, fileTransfer: { direction: p.guestChannels.fileTransfer.direction, extensions: [...p.guestChannels.fileTransfer.extensions] }, printing: p.guestChannels.printing },
    idleLockMinutes: p.idleLockMinutes,
    lockOnSuspend: p.lockOnSuspend,
    priority: p.priority,
    createdAt: isoTime(p.createdAtMs),
    updatedAt: isoTime(p.updatedAtMs)
  }
}

export function assignmentView (a: AssignmentRecord, policyName: string): Assignment {
  return { id: a.id, policy: policyName, kind: a.subjectKind, subject: a.subject, createdAt: isoTime(a.createdAtMs) }
}

/** A resolved workspace and the version it delivers (none yet: null). */
export function workspaceView (w: ResolvedWorkspace, version: VersionRecord | undefined): Workspace {
  return { image: w.image, policy: policyView(w.policy), via: w.via, expired: w.expired, version: version?.number ?? null, manifestId: version?.manifestId ?? null }
}
