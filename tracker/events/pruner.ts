/**
 * Retention: a background loop, between `start()` and `stop()`, that deletes events older
 * than the retention period (by client time, and by arrival for events a wrong clock
 * dated in the future), offload rollups of days past it, and spent usage counters. It
 * deletes in bounded statements with a pause between them, so ingest on the same
 * database never waits behind one long delete.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from '../../protocol/index.ts'
import type { TrackerStore } from '../db/store.ts'
import { EVENT_PRUNE_BATCH, EVENT_PRUNE_INTERVAL_MS, EVENT_PRUNE_PAUSE_MS, USAGE_COUNTER_KEEP_MS } from './constants.ts'

export interface EventPrunerComponents {
  store: Pick<TrackerStore, 'pruneEvents' | 'pruneOffload' | 'pruneUsage'>
  logger: Logger
  now: () => number
}

export interface EventPrunerInit {
  /** events older than this go */
  retentionMs: number
  /** default `EVENT_PRUNE_INTERVAL_MS` */
  intervalMs?: number
  /** default `EVENT_PRUNE_BATCH` */
  batchSize?: number
  /** default `EVENT_PRUNE_PAUSE_MS` */
  pauseMs?: number
}

export interface PruneResult {
  events: number
  offloadRows: number
  usageCounters: number
}

export interface EventPruner {
  /** Starts the loop (a first pass runs at once). */
  start: () => Promise<void>
  /** Stops the loop and waits for a pass under way to end at its next statement. */
  stop: () => Promise<void>
  /** One pass now; resolves when done (passes never overlap). */
  prune: () => Promise<PruneResult>
}

export function createEventPruner (components: EventPrunerComponents, init: EventPrunerInit): EventPruner {
  const { store, now } = components
  const log = components.logger.forComponent('tracker:events:pruner')
  const { retentionMs } = init
  const intervalMs = init.intervalMs ?? EVENT_PRUNE_INTERVAL_MS
  const batchSize = init.batchSize ?? EVENT_PRUNE_BATCH
  const pauseMs = init.pauseMs ?? EVENT_PRUNE_PAUSE_MS
  if (!Number.isSafeInteger(retentionMs) || retentionMs < 1) throw new TypeError('retentionMs must be a positive integer')
  if (!Number.isInteger(intervalMs) || intervalMs < 1 || !Number.isInteger(batchSize) || batchSize < 1) throw new TypeError('intervalMs and batchSize must be positive integers')
  let timer: NodeJS.Timeout | undefined
  let running: Promise<PruneResult> | undefined
  let stopped = new AbortController()

  async function pass (): Promise<PruneResult> {
    const t = now()
    const cutoffMs = t - retentionMs
    const result: PruneResult = { events: 0, offloadRows: 0, usageCounters: 0 }
    for (;;) {
      const n = await store.pruneEvents(cutoffMs, batchSize)
      result.events += n
      if (n < batchSize || stopped.signal.aborted) break
      await sleep(pauseMs)
    }
    result.offloadRows = await store.pruneOffload(cutoffMs)
    result.usageCounters = await store.pruneUsage(t - USAGE_COUNTER_KEEP_MS)
    if (result.events > 0 || result.offloadRows > 0) log.info('pruned old events', { ...result, cutoff: new Date(cutoffMs).toISOString() })
    return result
  }

  function prune (): Promise<PruneResult> {
    running ??= pass().finally(() => { running = undefined })
    return running
  }

  function schedule (): void {
    prune().catch((err: unknown) => log.warn('pruning events failed', { err }))
  }

  return {
    async start () {
      if (timer !== undefined) return
      stopped = new AbortController()
      timer = setInterval(schedule, intervalMs)
      timer.unref()
      schedule()
    },
    async stop () {
      if (timer !== undefined) clearInterval(timer)
      timer = undefined
      stopped.abort()
      await running?.catch(() => {})
    },
    prune
  }
}
