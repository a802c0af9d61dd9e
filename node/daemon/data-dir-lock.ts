/**
 * One daemon per data directory. Two on one directory would share a peer id, a cache
 * and a control file (the second's exit deleted the first's `control.json`).
 *
 * The lock is a file created with O_EXCL (`node.lock`: pid, the process's start time,
 * a random nonce). A process killed with SIGKILL leaves it behind; the next daemon finds
 * its pid dead — or alive but started at another time, i.e. the pid was reused — and
 * takes the lock over. A takeover goes through a second O_EXCL file (`node.lock.takeover`)
 * so two newcomers cannot both remove the stale lock and each believe they hold the new
 * one; the loser sees the winner's live lock and refuses. Release removes the file only
 * if it still holds our nonce.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { open, readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { NodeConfigError } from '../config.ts'

export const DATA_DIR_LOCK_FILE = 'node.lock'
const TAKEOVER_SUFFIX = '.takeover'
/** Attempts at create-or-take-over before giving up (each loses only to another starter). */
const LOCK_ATTEMPTS = 5

export interface LockOwner {
  pid: number
  /** the process's start time in clock ticks since boot (Linux /proc), when known */
  startTicks?: number
  nonce: string
  since: string
}

export interface DataDirLock {
  readonly path: string
  readonly owner: LockOwner
  /** Removes the lock if it is still ours; idempotent. */
  release: () => Promise<void>
}

/** Start time of `pid` in clock ticks since boot (field 22 of /proc/<pid>/stat), or undefined off Linux / for a gone pid. */
export function processStartTicks (pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // the command name (field 2) may hold spaces and parentheses: count from the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[19])
    return Number.isFinite(ticks) ? ticks : undefined
  } catch {
    return undefined
  }
}

/** Whether the process that wrote `owner` still runs (and is that same process, not a reused pid). */
export function ownerAlive (owner: LockOwner): boolean {
  try {
    process.kill(owner.pid, 0)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false // ESRCH: gone
  }
  if (owner.startTicks === undefined) return true
  const now = processStartTicks(owner.pid)
  return now === undefined || now === owner.startTicks
}

async function readOwner (path: string): Promise<LockOwner | undefined> {
  try {
    const o = JSON.parse(await readFile(path, 'utf8')) as Partial<LockOwner>
    if (!Number.isSafeInteger(o.pid) || typeof o.nonce !== 'string') return { pid: 0, nonce: '', since: '' }
    return o as LockOwner
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    // Torn or unreadable: written by a process that died mid-write (the write is tiny).
    return { pid: 0, nonce: '', since: '' }
  }
}

async function createExclusive (path: string, content: string): Promise<boolean> {
  let fh
  try {
    fh = await open(path, 'wx', 0o600)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  }
  try {
    await fh.writeFile(content)
    await fh.sync()
  } finally {
    await fh.close()
  }
  return true
}

function lockedError (dataDir: string, owner: LockOwner): NodeConfigError {
  return new NodeConfigError(`data directory ${dataDir} is in use by another branchcast node (pid ${owner.pid}, since ${owner.since}): stop that one first, or give this one another --data`)
}

/**
 * Takes the data directory's lock, taking over a stale one. Throws `NodeConfigError`
 * naming the holder's pid when another live process holds it.
 */
export async function lockDataDir (dataDir: string): Promise<DataDirLock> {
  const path = join(dataDir, DATA_DIR_LOCK_FILE)
  const owner: LockOwner = { pid: process.pid, startTicks: processStartTicks(process.pid), nonce: randomBytes(16).toString('hex'), since: new Date().toISOString() }
  const content = JSON.stringify(owner) + '\n'
  for (let attempt = 0; attempt < LOCK_ATTEMPTS; attempt++) {
    if (await createExclusive(path, content)) return held(path, owner)
    const current = await readOwner(path)
    if (current === undefined) continue // released between our two calls
    if (current.pid === process.pid && current.nonce !== owner.nonce && ownerAlive(current)) throw lockedError(dataDir, current)
    if (ownerAlive(current) && current.pid !== 0) throw lockedError(dataDir, current)
    await takeOver(path, current)
  }
  const current = await readOwner(path)
  throw current !== undefined && current.pid !== 0 ? lockedError(dataDir, current) : new NodeConfigError(`cannot lock data directory ${dataDir}: ${path} keeps changing`)
}

/** Removes the stale lock `stale`, unless someone else replaced or is replacing it. */
async function takeOver (path: string, stale: LockOwner): Promise<void> {
  const guard = path + TAKEOVER_SUFFIX
  const mine = JSON.stringify({ pid: process.pid, startTicks: processStartTicks(process.pid), nonce: randomBytes(16).toString('hex'), since: new Date().toISOString() })
  if (!await createExclusive(guard, mine)) {
    // Another starter is taking over; if it died in that tiny window, clear its guard.
    const other = await readOwner(guard)
    if (other !== undefined && !ownerAlive(other)) await unlink(guard).catch(() => {})
    return
  }
  try {
    const again = await readOwner(path)
    if (again !== undefined && again.nonce === stale.nonce && again.pid === stale.pid) await unlink(path).catch(() => {})
  } finally {
    await unlink(guard).catch(() => {})
  }
}

function held (path: string, owner: LockOwner): DataDirLock {
  let released = false
  return {
    path,
    owner,
    async release () {
      if (released) return
      released = true
      const current = await readOwner(path)
      if (current?.nonce === owner.nonce) await unlink(path).catch(() => {})
    }
  }
}
