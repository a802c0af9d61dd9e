/**
 * The daemon runs below the VMs it starts: a desk's node is a background service (pulls,
 * hashing, serving peers, the NBD server of a lazy boot) and must not take the CPU from
 * the workspace the user is waiting for. Measured (bench/RESULTS.md, "Instant start"): a
 * lazy boot with a boot profile took 1.23 × a local boot with the node at QEMU's
 * priority and 1.11 × with the node at nice 10.
 *
 * Linux keeps a nice value per thread, and a new thread or process starts at its
 * creator's. So the daemon lowers every thread it has (`/proc/self/task`); threads made
 * later inherit it. QEMU, spawned by the daemon, would inherit it too: the session runtime
 * sets each QEMU back to the daemon's original nice value (`SessionRuntimeInit.qemuNice`).
 * Raising a priority again needs CAP_SYS_NICE or an RLIMIT_NICE that allows it
 * (systemd: `AmbientCapabilities=CAP_SYS_NICE` or `LimitNICE=`); a daemon that could not
 * do so keeps its normal priority, and says why, rather than run the user's VMs below
 * normal.
 */
import { readFileSync } from 'node:fs'
import { getPriority } from 'node:os'
import type { Logger } from '../../protocol/index.ts'
import { setProcessNice } from '../session/index.ts'

/** Linux's CAP_SYS_NICE capability bit. */
const CAP_SYS_NICE = 23
const MAX_NICE = 19

/** What the process may do about priorities, as read from the system. */
export interface PriorityRights {
  /** the process's nice value now */
  baseNice: number
  /**
   * the lowest nice value it may set (root or CAP_SYS_NICE: -20; else 20 − RLIMIT_NICE's
   * soft limit); undefined when not known (not Linux)
   */
  floorNice?: number
}

export type PriorityPlan =
  | { lower: false, reason: 'off' | 'cannot-restore', baseNice: number }
  | { lower: true, daemonNice: number, qemuNice: number }

/**
 * Whether the daemon lowers itself by `cpuNice` (0: never): only when its VMs can be set
 * back to its present nice value.
 */
export function planPriority (cpuNice: number, rights: PriorityRights): PriorityPlan {
  if (!Number.isInteger(cpuNice) || cpuNice < 0 || cpuNice > MAX_NICE) throw new TypeError(`cpuNice must be an integer from 0 to ${MAX_NICE}`)
  const daemonNice = Math.min(MAX_NICE, rights.baseNice + cpuNice)
  if (cpuNice === 0 || daemonNice === rights.baseNice) return { lower: false, reason: 'off', baseNice: rights.baseNice }
  if (rights.floorNice === undefined || rights.floorNice > rights.baseNice) return { lower: false, reason: 'cannot-restore', baseNice: rights.baseNice }
  return { lower: true, daemonNice, qemuNice: rights.baseNice }
}

/** The lowest nice value this process may set, from /proc (undefined off Linux). */
function floorNice (): number | undefined {
  let status: string
  let limits: string
  try {
    status = readFileSync('/proc/self/status', 'utf8')
    limits = readFileSync('/proc/self/limits', 'utf8')
  } catch {
    return undefined
  }
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1]
  if (capEff !== undefined && (BigInt(`0x${capEff}`) >> BigInt(CAP_SYS_NICE)) & 1n) return -20
  const soft = /^Max nice priority\s+(\d+|unlimited)/m.exec(limits)?.[1]
  if (soft === undefined) return undefined
  return soft === 'unlimited' ? -20 : Math.max(-20, 20 - Number(soft))
}

export function readPriorityRights (): PriorityRights {
  return { baseNice: getPriority(), floorNice: floorNice() }
}

/**
 * Lowers this process (the daemon) as `cpuNice` says, when its VMs can be set back; returns
 * the nice value QEMU is to run at (undefined: QEMU inherits the daemon's, which was not
 * lowered).
 */
export function lowerDaemonPriority (cpuNice: number, log: Logger): { qemuNice?: number } {
  const plan = planPriority(cpuNice, readPriorityRights())
  if (!plan.lower) {
    if (plan.reason === 'cannot-restore') {
      log.warn('the node keeps its normal CPU priority: lowered, it could not set the VMs it starts back to normal (they would inherit it). Grant it CAP_SYS_NICE or an RLIMIT_NICE of at least 20 (systemd: AmbientCapabilities=CAP_SYS_NICE or LimitNICE=+0), or set cpuNice to 0 to silence this', { cpuNice, nice: plan.baseNice })
    }
    return {}
  }
  setProcessNice(0, plan.daemonNice)
  log.info('the node runs below its VMs\' CPU priority', { nice: plan.daemonNice, vmNice: plan.qemuNice })
  return { qemuNice: plan.qemuNice }
}
