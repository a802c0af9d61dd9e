/**
 * Delta computation after the publish has answered: one job at a time, in upload order,
 * at most `MAX_PENDING_DELTA_JOBS` waiting (a burst of uploads beyond that skips deltas
 * for the oldest waiting versions, logged: their nodes fetch whole chunks). A version's
 * delta index appears when its job is done; a node that pulls before sees a 404 and
 * fetches whole chunks. `stop()` aborts the running job and drops the waiting ones, and
 * resolves once nothing runs; a job aborted half-way leaves delta files without an index,
 * which nobody reads and GC deletes with their target.
 */
import type { Logger } from '../../protocol/index.ts'

export interface DeltaJob {
  /** what the logs call it (image and version) */
  label: string
  run: (signal: AbortSignal) => Promise<void>
}

export class DeltaQueue {
  readonly #waiting: DeltaJob[] = []
  readonly #maxWaiting: number
  readonly #log: Logger
  readonly #signal: AbortSignal
  #running: Promise<void> | undefined
  #idle: Array<() => void> = []

  constructor (init: { maxWaiting: number, log: Logger, signal: AbortSignal }) {
    this.#maxWaiting = init.maxWaiting
    this.#log = init.log
    this.#signal = init.signal
  }

  /** Queues a job; runs it when the one before is done. */
  push (job: DeltaJob): void {
    if (this.#signal.aborted) return
    this.#waiting.push(job)
    while (this.#waiting.length > this.#maxWaiting) {
      const dropped = this.#waiting.shift()!
      this.#log.warn('delta jobs piling up: skipping the oldest waiting version (its nodes fetch whole chunks)', { version: dropped.label })
    }
    this.#running ??= this.#drain()
  }

  /** Resolves when no job runs or waits (tests, benches, shutdown). */
  async idle (): Promise<void> {
    if (this.#running === undefined) return
    await new Promise<void>((resolve) => { this.#idle.push(resolve) })
  }

  async #drain (): Promise<void> {
    try {
      for (let job = this.#waiting.shift(); job !== undefined && !this.#signal.aborted; job = this.#waiting.shift()) {
        try {
          await job.run(this.#signal)
        } catch (err) {
          if (this.#signal.aborted) break
          this.#log.warn('deltas not computed: nodes fetch whole chunks for this version', { version: job.label, err: err as Error })
        }
      }
    } finally {
      this.#waiting.length = 0
      this.#running = undefined
      const idle = this.#idle
      this.#idle = []
      for (const resolve of idle) resolve()
    }
  }
}
