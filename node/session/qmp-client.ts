/**
 * A client of QEMU's machine protocol (QMP): JSON lines over the Unix socket given by
 * `-qmp unix:PATH,server=on,wait=off`. It reads the greeting, negotiates capabilities,
 * numbers every command and matches the answer by its id, and hands asynchronous events
 * (STOP, RESUME, SHUTDOWN, GUEST_PANICKED, …) to listeners.
 */
import { setTimeout as delay } from 'node:timers/promises'
import { MAX_QMP_LINE_BYTES, QMP_CONNECT_RETRY_MS } from '../constants.ts'
import { SessionError } from './errors.ts'
import { JsonSocket, connectJsonSocket } from './json-socket.ts'

export interface QmpEvent {
  event: string
  data?: Record<string, unknown>
}

interface Pending {
  resolve: (value: unknown) => void
  reject: (err: Error) => void
}

function isRecord (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export class QmpClient {
  #socket: JsonSocket | undefined
  #nextId = 1
  readonly #pending = new Map<number, Pending>()
  readonly #listeners = new Set<(e: QmpEvent) => void>()
  #greeting: ((v: unknown) => void) | undefined
  #closedResolve!: (err: Error | undefined) => void
  /** Resolves once the monitor's socket is gone (QEMU exited or was killed); with the error if it broke. */
  readonly closed: Promise<Error | undefined>

  private constructor () {
    this.closed = new Promise((resolve) => { this.#closedResolve = resolve })
  }

  /**
   * Connects (retrying while the socket is not there yet or refuses: QEMU is still
   * starting), reads the greeting and leaves capabilities negotiation mode. Bounded only by
   * `signal`.
   */
  static async connect (path: string, options: { signal: AbortSignal }): Promise<QmpClient> {
    const client = new QmpClient()
    const greeted = new Promise<unknown>((resolve) => { client.#greeting = resolve })
    for (;;) {
      try {
        client.#socket = await connectJsonSocket(path, {
          maxLineBytes: MAX_QMP_LINE_BYTES,
          onMessage: (v) => client.#message(v),
          onClose: (err) => client.#close(err)
        }, options)
        break
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if (options.signal.aborted || (code !== 'ENOENT' && code !== 'ECONNREFUSED')) throw err
        await delay(QMP_CONNECT_RETRY_MS, undefined, { signal: options.signal })
      }
    }
    try {
      const greeting = await abortable(Promise.race([greeted, client.closed.then((err) => { throw qmpError('the monitor closed before its greeting', err) })]), options.signal)
      if (!isRecord(greeting) || !isRecord(greeting.QMP)) throw qmpError('the monitor did not greet with QMP')
      await client.execute('qmp_capabilities', undefined, options)
      return client
    } catch (err) {
      client.close()
      throw err
    }
  }

  /** Runs one command; rejects with `ERR_QMP` when QEMU answers with an error or the monitor closes. */
  async execute<T = unknown> (command: string, args?: Record<string, unknown>, options: { signal?: AbortSignal } = {}): Promise<T> {
    options.signal?.throwIfAborted()
    const socket = this.#socket
    if (socket === undefined || socket.closed) throw qmpError(`cannot run ${command}: the monitor is closed`)
    const id = this.#nextId++
    const answer = new Promise<unknown>((resolve, reject) => this.#pending.set(id, { resolve, reject }))
    socket.send(args === undefined ? { execute: command, id } : { execute: command, arguments: args, id })
    try {
      return await abortable(answer, options.signal) as T
    } finally {
      this.#pending.delete(id)
    }
  }

  /** Calls `listener` with every event until the returned function is called. */
  onEvent (listener: (e: QmpEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  close (): void { this.#socket?.close() }

  #message (v: unknown): void {
    if (!isRecord(v)) return
    if (this.#greeting !== undefined && 'QMP' in v) {
      this.#greeting(v)
      this.#greeting = undefined
      return
    }
    if (typeof v.event === 'string') {
      const e: QmpEvent = { event: v.event, data: isRecord(v.data) ? v.data : undefined }
      for (const l of [...this.#listeners]) l(e)
      return
    }
    if (typeof v.id !== 'number') return
    const pending = this.#pending.get(v.id)
    if (pending === undefined) return
    this.#pending.delete(v.id)
    if ('return' in v) pending.resolve(v.return)
    else {
      const e = isRecord(v.error) ? v.error : {}
      pending.reject(qmpError(`${String(e.class ?? 'Error')}: ${String(e.desc ?? 'no description')}`))
    }
  }

  #close (err: Error | undefined): void {
    for (const p of this.#pending.values()) p.reject(qmpError('the monitor closed', err))
    this.#pending.clear()
    this.#closedResolve(err)
  }
}

function qmpError (message: string, cause?: unknown): SessionError {
  return new SessionError('ERR_QMP', `QMP: ${message}`, { cause })
}

/** `promise`, or the signal's reason as soon as it aborts. */
export async function abortable<T> (promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return await promise
  // already aborted: `promise` is not waited for, so its rejection must not go unhandled
  if (signal.aborted) { promise.catch(() => {}); throw signal.reason }
  let onAbort: (() => void) | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
    })])
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
  }
}
