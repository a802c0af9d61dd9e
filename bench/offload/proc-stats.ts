/**
 * CPU time and memory of another process from /proc (Linux): user + system seconds from
 * /proc/<pid>/stat, current and peak resident set (VmRSS, VmHWM) from /proc/<pid>/status.
 */
import { readFile } from 'node:fs/promises'

/** USER_HZ: 100 on every Linux this runs on (sysconf is not reachable from Node) */
const CLOCK_TICKS_PER_SEC = 100

export interface ProcStats {
  cpuSec: number
  rssBytes: number
  hwmBytes: number
}

export async function readProcStats (pid: number): Promise<ProcStats | undefined> {
  try {
    const [stat, status] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile(`/proc/${pid}/status`, 'utf8')])
    // fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(rest[11]) + Number(rest[12])
    const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024
    return { cpuSec: ticks / CLOCK_TICKS_PER_SEC, rssBytes: kb('VmRSS'), hwmBytes: kb('VmHWM') }
  } catch {
    return undefined
  }
}
