/** A complete workspace policy as the tracker answers it, with what a test changes. */
import type { Policy } from '../../protocol/index.ts'

export function testPolicy (over: Partial<Policy> = {}): Policy {
  return {
    id: 1,
    name: 'desk',
    image: 'ws',
    channel: 'latest',
    pinnedVersion: null,
    expiresAt: null,
    expiresAtMs: null,
    offlineGraceSeconds: 86_400,
    p2pAllowed: true,
    originRateBytesPerSec: null,
    downloadWindow: null,
    vmMemoryMb: 128,
    vmCpus: 2,
    publishedApps: [],
    startup: { mode: 'manual' },
    workspaceMode: 'persistent',
    guestChannels: { clipboard: 'off', fileTransfer: { direction: 'off', extensions: [] }, printing: false },
    idleLockMinutes: null,
    lockOnSuspend: true,
    priority: 0,
    createdAt: '2026-11-28T00:00:00.000Z',
    updatedAt: '2026-11-28T00:00:00.000Z',
    ...over
  }
}
