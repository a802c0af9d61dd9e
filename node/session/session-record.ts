/**
 * What a running session leaves in the data directory so a restarted daemon can find it
 * again: `<dataDir>/sessions/<image>/session.json` (pid, sockets, overlay, start time, the
 * options it started with). Written once QMP answers, removed once the VM is gone.
 */
import { readdir, rm } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readJsonFile, writeJsonFile } from '../state-file.ts'
import { MAX_UNIX_SOCKET_PATH_BYTES } from '../constants.ts'
import type { GuestChannels } from '../../protocol/index.ts'
import type { Accelerator } from './accelerator.ts'
import type { ChannelName, LazyBacking, SessionChannels, VmPlan } from './qemu-args.ts'

export type SessionMode = 'persistent' | 'revertible'

export interface SessionRecord {
  image: string
  version?: number
  mode: SessionMode
  pid: number
  startedAtMs: number
  /** set while the VM is paused by lock() */
  lockedAtMs?: number
  lockReason?: string
  accel: Accelerator
  machine: VmPlan['machine']
  memoryMb: number
  cpus: number
  channels: SessionChannels
  network: VmPlan['network']
  boot?: VmPlan['boot']
  baseImagePath: string
  overlayPath: string
  qmpSocket: string
  agentSocket: string
  channelSockets: Partial<Record<ChannelName, string>>
  /** the policy's channel directions and extension allow-list, for the host end of the channels */
  guestChannels?: GuestChannels
  /** lock after this many minutes of host idle time; null or absent: never */
  idleLockMinutes?: number | null
  lockOnSuspend?: boolean
  /** the base is read through the node's NBD export while it arrives (instant start) */
  lazy?: LazyBacking
}

const RECORD_FILE = 'session.json'

export function sessionsRoot (dataDir: string): string { return join(dataDir, 'sessions') }
export function sessionDir (dataDir: string, image: string): string { return join(sessionsRoot(dataDir), image) }

/**
 * Where a session's sockets live: its own directory when the paths fit a Unix socket
 * address, else a directory under the temp dir named after it.
 */
export function socketDir (dir: string): string {
  if (Buffer.byteLength(join(dir, 'ch-clipboard.sock')) <= MAX_UNIX_SOCKET_PATH_BYTES) return dir
  return join(tmpdir(), `branchcast-vm-${createHash('sha256').update(dir).digest('hex').slice(0, 16)}`)
}

export async function writeRecord (dataDir: string, record: SessionRecord): Promise<void> {
  await writeJsonFile(join(sessionDir(dataDir, record.image), RECORD_FILE), record)
}

export async function removeRecord (dataDir: string, image: string): Promise<void> {
  await rm(join(sessionDir(dataDir, image), RECORD_FILE), { force: true })
}

/** Every record on disk; a file that does not parse is skipped (and named in `bad`). */
export async function readRecords (dataDir: string): Promise<{ records: SessionRecord[], bad: string[] }> {
  const names = await readdir(sessionsRoot(dataDir)).catch(() => [] as string[])
  const records: SessionRecord[] = []
  const bad: string[] = []
  for (const name of names.sort()) {
    const path = join(sessionDir(dataDir, name), RECORD_FILE)
    try {
      const r = await readJsonFile<SessionRecord>(path)
      if (r === undefined) continue
      if (r.image !== name || !Number.isInteger(r.pid) || r.pid <= 1 || typeof r.qmpSocket !== 'string') throw new Error('not a session record')
      records.push(r)
    } catch {
      bad.push(path)
    }
  }
  return { records, bad }
}

/** Deletes the sockets a session's QEMU leaves behind when it dies. */
export async function removeSockets (record: Pick<SessionRecord, 'qmpSocket' | 'agentSocket' | 'channelSockets'>): Promise<void> {
  const paths = [record.qmpSocket, record.agentSocket, ...Object.values(record.channelSockets)]
  await Promise.all(paths.map(async (p) => { if (p !== undefined) await rm(p, { force: true }) }))
}
