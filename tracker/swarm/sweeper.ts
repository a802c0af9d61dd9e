/**
 * The swarm sweeper: every so often deletes lapsed memberships and refreshes the cached
 * swarm sizes that `/metrics` renders (rendering is synchronous, so it cannot ask the
 * database itself). Correctness never depends on it: `membersFor` and `siteMembers`
 * filter by time on every read; the sweep only keeps the table small.
 */
import type { Logger } from '../../protocol/index.ts'
import type { SwarmSize, TrackerStore } from '../db/store.ts'

export interface SwarmSweeperComponents {
  store: Pick<TrackerStore, 'expireMembers' | 'swarmSizes'>
  logger: Logger
  now: () => number
}

export interface SwarmSweeperInit {
  intervalMs: number
}

export interface SwarmSweeper {
  start: () => void
  stop: () => void
  /** Expire and refresh sizes now; resolves when done (also what the timer runs). */
  sweep: () => Promise<void>
  /** The sizes seen by the last sweep (empty before the first). */
  sizes: () => readonly SwarmSize[]
}

export function createSwarmSweeper (components: SwarmSweeperComponents, init: SwarmSweeperInit): SwarmSweeper {
  const { store, now } = components
  const log = components.logger.forComponent('tracker:swarm')
  if (!Number.isInteger(init.intervalMs) || init.intervalMs < 1) throw new TypeError('intervalMs must be a positive integer')
  let timer: NodeJS.Timeout | undefined
  let cached: readonly SwarmSize[] = []
  let running: Promise<void> | undefined

  async function sweepOnce (): Promise<void> {
    const t = now()
    const expired = await store.expireMembers(t)
    if (expired > 0) log.debug('expired swarm memberships', { expired })
    cached = await store.swarmSizes(t)
  }

  function sweep (): Promise<void> {
    // One sweep at a time: a slow database must not pile sweeps up.
    running ??= sweepOnce().finally(() => { running = undefined })
    return running
  }

  return {
    start () {
      if (timer !== undefined) return
      timer = setInterval(() => {
        sweep().catch((err: unknown) => log.warn('swarm sweep failed', { err }))
      }, init.intervalMs)
      timer.unref()
    },
    stop () {
      if (timer !== undefined) clearInterval(timer)
      timer = undefined
    },
    sweep,
    sizes: () => cached
  }
}
