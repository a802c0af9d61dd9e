/**
 * Spawning QEMU and its tools. The VM process is detached (its own process group, no pipes
 * to us), so it outlives a restart of the daemon, which then re-attaches through QMP; its
 * stderr goes to a log file the error message can quote. The child stays referenced (we
 * wait for its exit) until the runtime lets go of it on detach.
 */
import { execFile, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { closeSync, openSync, readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { setPriority } from 'node:os'
import { SessionError } from './errors.ts'

/** The Debian package that provides each binary we run, for the "not installed" error. */
const PACKAGE_OF: Record<string, string> = {
  'qemu-system-x86_64': 'qemu-system-x86',
  'qemu-img': 'qemu-utils'
}

export function qemuMissing (binary: string, cause?: unknown): SessionError {
  const name = binary.slice(binary.lastIndexOf('/') + 1)
  const pkg = PACKAGE_OF[name] ?? 'qemu-system-x86'
  return new SessionError('ERR_QEMU_MISSING', `${binary} is not installed: install the Debian package ${pkg} (apt-get install ${pkg})`, { cause })
}

export interface QemuChild {
  readonly child: ChildProcess
  readonly pid: number
  /** settles when the process ends: exit code or signal */
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

/** Starts QEMU detached; rejects with ERR_QEMU_MISSING when the binary is not there. */
export async function spawnQemu (binary: string, args: string[], logPath: string): Promise<QemuChild> {
  const log = openSync(logPath, 'a', 0o600)
  try {
    const child = spawn(binary, args, { detached: true, stdio: ['ignore', log, log] })
    const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }))
      child.once('error', () => resolve({ code: null, signal: null }))
    })
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve)
      child.once('error', (err) => reject((err as NodeJS.ErrnoException).code === 'ENOENT' ? qemuMissing(binary, err) : err))
    })
    return { child, pid: child.pid!, exited }
  } finally {
    closeSync(log)
  }
}

/** The last lines QEMU wrote to its log, for an error message. */
export async function logTail (logPath: string, lines = 5): Promise<string> {
  const text = await readFile(logPath, 'utf8').catch(() => '')
  return text.trim().split('\n').slice(-lines).join(' | ')
}

/** Runs qemu-img (or another tool) to completion; ERR_QEMU_MISSING when it is not installed. */
export async function runTool (binary: string, args: string[], options: { signal?: AbortSignal } = {}): Promise<string> {
  return await new Promise((resolve, reject) => {
    execFile(binary, args, { signal: options.signal, maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      if (err === null) { resolve(stdout); return }
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') { reject(qemuMissing(binary, err)); return }
      reject(new Error(`${binary} ${args[0] ?? ''} failed: ${stderr.trim() || err.message}`, { cause: err }))
    })
  })
}

/** Whether `pid` is alive and is the QEMU whose command line mentions `marker` (guards against pid reuse). */
export async function isOurQemu (pid: number, marker: string): Promise<boolean> {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined)
  return cmdline === undefined ? true : cmdline.includes(marker)
}

/**
 * Sets every thread of process `pid` (this process when 0) to `nice`; a thread that ended
 * meanwhile is skipped. Off Linux, the process as a whole.
 */
export function setProcessNice (pid: number, nice: number): void {
  let tids: number[]
  try {
    tids = readdirSync(`/proc/${pid === 0 ? 'self' : pid}/task`).map(Number).filter((n) => Number.isInteger(n) && n > 0)
  } catch {
    setPriority(pid, nice)
    return
  }
  for (const tid of tids) {
    try {
      setPriority(tid, nice)
    } catch (err) {
      if ((err as { info?: { code?: string } }).info?.code !== 'ESRCH') throw err
    }
  }
}
