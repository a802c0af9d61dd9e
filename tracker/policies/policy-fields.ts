/**
 * A validated policy request body (`protocol/api/policies.ts`) → the store's fields: only
 * what the body names, with the checks a schema cannot make (a contradicting channel, a
 * window that starts where it ends). Throws ERR_BAD_REQUEST naming the field.
 */
import { parseDownloadWindow } from '../../protocol/index.ts'
import type { DownloadWindow, UpdatePolicy } from '../../protocol/index.ts'
import type { PolicyFields } from '../db/store.ts'
import { badRequest } from '../errors.ts'

function expiryMs (v: number | string): number {
  if (typeof v === 'number') return v
  const ms = Date.parse(v.length === 10 ? `${v}T00:00:00Z` : v)
  if (!Number.isSafeInteger(ms)) throw badRequest('expiresAt: not a date')
  return ms
}

function windowOf (v: string | DownloadWindow): DownloadWindow {
  try {
    if (typeof v === 'string') return parseDownloadWindow(v)
  } catch (err) {
    throw badRequest(`downloadWindow: ${(err as Error).message}`)
  }
  if (v.startMinute === v.endMinute) throw badRequest('downloadWindow: a window must not start where it ends (use null for any time)')
  return v
}

export function policyFields (body: UpdatePolicy): Partial<PolicyFields> & { name?: string } {
  const out: Partial<PolicyFields> & { name?: string } = {}
  if (body.channel === 'latest' && body.pinnedVersion !== undefined && body.pinnedVersion !== null) {
    throw badRequest('channel: channel "latest" and a pinnedVersion contradict each other')
  }
  if (body.name !== undefined) out.name = body.name
  if (body.image !== undefined) out.imageName = body.image
  if (body.channel === 'latest') out.pinnedVersion = null
  if (body.pinnedVersion !== undefined) out.pinnedVersion = body.pinnedVersion
  if (body.expiresAt !== undefined) out.expiresAtMs = body.expiresAt === null ? null : expiryMs(body.expiresAt)
  if (body.offlineGraceSeconds !== undefined) out.offlineGraceSeconds = body.offlineGraceSeconds
  if (body.p2pAllowed !== undefined) out.p2pAllowed = body.p2pAllowed
  if (body.originRateBytesPerSec !== undefined) out.originRateBytesPerSec = body.originRateBytesPerSec
  if (body.downloadWindow !== undefined) out.downloadWindow = body.downloadWindow === null ? null : windowOf(body.downloadWindow)
  if (body.vmMemoryMb !== undefined) out.vmMemoryMb = body.vmMemoryMb
  if (body.vmCpus !== undefined) out.vmCpus = body.vmCpus
  if (body.publishedApps !== undefined) out.publishedApps = body.publishedApps
  if (body.startup !== undefined) out.startup = body.startup
  if (body.workspaceMode !== undefined) out.workspaceMode = body.workspaceMode
  if (body.guestChannels !== undefined) out.guestChannels = body.guestChannels
  if (body.idleLockMinutes !== undefined) out.idleLockMinutes = body.idleLockMinutes
  if (body.lockOnSuspend !== undefined) out.lockOnSuspend = body.lockOnSuspend
  if (body.priority !== undefined) out.priority = body.priority
  return out
}
