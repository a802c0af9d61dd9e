import { randomUUID } from 'node:crypto'
import { ApiError } from '../../protocol/index.ts'
import { EventSchema, MAX_EVENT_BATCH_BYTES, MAX_EVENTS_PER_BATCH } from '../../protocol/index.ts'
import type { ClientEvent, ClientInfo } from '../../protocol/index.ts'
import type { Logger } from '../../protocol/index.ts'
import { EVENT_RETRY_MAX_MS, EVENT_RETRY_MIN_MS } from '../constants.ts'
import { EventQueue } from './event-queue.ts'
import type { EventReporter, EventReporterComponents, EventReporterInit } from './index.ts'

/** Room left in a batch body for `{"events":[…]}` and the commas. */
const BATCH_OVERHEAD_BYTES = 1024

export class DurableEventReporter implements EventReporter {
  readonly #queue: EventQueue
  readonly #components: EventReporterComponents
  readonly #log: Logger
  readonly #clientId: string
  readonly #client: ClientInfo | undefined
  readonly #retryMinMs: number
  readonly #retryMaxMs: number
  readonly #maxEvents: number
  #opened: Promise<void> | undefined
  #running = false
  #loop: Promise<void> | undefined
  #stop = new AbortController()
  #wake: (() => void) | undefined
  #idleWaiters: Array<() => void> = []
  #failures = 0
  /** set by every kick, so a wake that arrives between peek and wait is not lost */
  #dirty = false
  /** shrinks while the tracker refuses a batch as a whole, to find the one bad event */
  #batchLimit: number
  #posted = 0
  /** report() calls still writing, so flush() covers events reported just before it */
  readonly #appending = new Set<Promise<void>>()

  constructor (init: EventReporterInit, components: EventReporterComponents) {
    this.#queue = new EventQueue(init.dir)
    this.#components = components
    this.#log = components.logger.forComponent('node:events')
    this.#clientId = init.clientId
    this.#client = init.client
    this.#retryMinMs = init.retryMinMs ?? EVENT_RETRY_MIN_MS
    this.#retryMaxMs = init.retryMaxMs ?? EVENT_RETRY_MAX_MS
    this.#maxEvents = Math.min(init.batchMaxEvents ?? MAX_EVENTS_PER_BATCH, MAX_EVENTS_PER_BATCH)
    this.#batchLimit = this.#maxEvents
  }

  get postedCount (): number { return this.#posted }

  async #open (): Promise<void> {
    this.#opened ??= this.#queue.open()
    await this.#opened
  }

  async start (): Promise<void> {
    if (this.#running) return
    await this.#open()
    this.#running = true
    this.#stop = new AbortController()
    this.#loop = this.#run()
  }

  async stop (): Promise<void> {
    if (!this.#running) return
    this.#running = false
    this.#stop.abort(new Error('event reporter stopped'))
    this.#wake?.()
    await this.#loop
    for (const w of this.#idleWaiters.splice(0)) w()
  }

  async report (type: string, payload: Record<string, unknown>, options: { id?: string } = {}): Promise<ClientEvent> {
    const atMs = this.#components.now()
    const parsed = EventSchema.safeParse({ id: options.id ?? randomUUID(), type, at: atMs, payload })
    if (!parsed.success) throw new TypeError(`invalid ${type} event: ${parsed.error.issues[0]?.message ?? 'invalid'}`)
    const appending = (async () => {
      await this.#open()
      await this.#queue.append(parsed.data, atMs)
    })()
    this.#appending.add(appending)
    try {
      await appending
    } finally {
      this.#appending.delete(appending)
    }
    this.#kick()
    return parsed.data
  }

  async pending (): Promise<number> {
    await this.#open()
    return await this.#queue.count()
  }

  async flush (options: { signal?: AbortSignal } = {}): Promise<void> {
    if (!this.#running) throw new TypeError('flush() needs a started reporter')
    options.signal?.throwIfAborted()
    await Promise.allSettled([...this.#appending])
    const idle = new Promise<void>((resolve) => this.#idleWaiters.push(resolve))
    this.#failures = 0
    this.#kick()
    if (options.signal === undefined) { await idle; return }
    const signal = options.signal
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
      void idle.then(() => { signal.removeEventListener('abort', onAbort); resolve() })
    })
  }

  #kick (): void {
    this.#dirty = true
    this.#wake?.()
  }

  /** Resolves after `ms` (never when undefined), early on `wake()` when `wakeable`, or on stop. */
  async #wait (ms: number | undefined, wakeable: boolean): Promise<void> {
    const signal = this.#stop.signal
    if (signal.aborted) return
    let timer: NodeJS.Timeout | undefined
    let onStop: (() => void) | undefined
    await new Promise<void>((resolve) => {
      if (ms !== undefined) timer = setTimeout(resolve, ms)
      onStop = resolve
      signal.addEventListener('abort', onStop, { once: true })
      if (wakeable) this.#wake = resolve
    })
    clearTimeout(timer)
    if (onStop !== undefined) signal.removeEventListener('abort', onStop)
    this.#wake = undefined
  }

  async #run (): Promise<void> {
    while (this.#running) {
      this.#dirty = false
      let batch
      try {
        batch = await this.#queue.peek(this.#batchLimit, MAX_EVENT_BATCH_BYTES - BATCH_OVERHEAD_BYTES)
      } catch (err) {
        this.#log.error('cannot read the event queue', { err })
        await this.#wait(this.#retryMaxMs, false)
        continue
      }
      if (batch.length === 0) {
        this.#batchLimit = this.#maxEvents
        for (const w of this.#idleWaiters.splice(0)) w()
        if (!this.#dirty) await this.#wait(undefined, true)
        continue
      }
      try {
        const answer = await this.#components.tracker.postEvents(batch.map((q) => q.event), { clientId: this.#clientId, client: this.#client, signal: this.#stop.signal })
        await this.#queue.remove(batch.map((q) => q.file))
        this.#posted += batch.length
        this.#failures = 0
        this.#batchLimit = this.#maxEvents
        this.#log.debug('events posted', { count: batch.length, inserted: answer.inserted, duplicates: answer.duplicates })
      } catch (err) {
        if (!this.#running) break
        if (err instanceof ApiError && (err.status === 400 || err.status === 413)) {
          // the tracker refuses this batch as such: halve until the culprit stands alone
          if (batch.length > 1) {
            this.#batchLimit = Math.max(1, Math.floor(batch.length / 2))
            continue
          }
          this.#log.warn('tracker refused an event for good; moved to events/rejected', { eventId: batch[0]!.event.id, type: batch[0]!.event.type, code: err.code })
          await this.#queue.reject(batch[0]!.file)
          continue
        }
        this.#failures++
        const base = Math.min(this.#retryMaxMs, this.#retryMinMs * 2 ** Math.min(this.#failures - 1, 20))
        const delayMs = Math.round(base * (0.75 + Math.random() * 0.5))
        this.#log.warn('posting events failed; will retry', { count: batch.length, delayMs, error: (err as Error).message })
        await this.#wait(delayMs, false)
      }
    }
  }
}
