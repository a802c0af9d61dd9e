/**
 * A client of the QEMU guest agent (qemu-ga) over its virtio-serial port, whose host end
 * is a Unix socket of QEMU's. The channel is a plain byte pipe: requests written before the
 * agent runs are queued and answered later, and an answer to a request we gave up on can
 * arrive at any time. So every command is preceded by `guest-sync-delimited` with a fresh
 * id: the agent answers it after a 0xFF byte, we drop every reply until the one carrying
 * our id, and the next reply is the command's. Commands run one at a time.
 */
import { randomInt } from 'node:crypto'
import { setTimeout as delay } from 'node:timers/promises'
import { GUEST_EXEC_POLL_MS, MAX_AGENT_LINE_BYTES } from '../constants.ts'
import { SessionError } from './errors.ts'
import { connectJsonSocket } from './json-socket.ts'
import type { JsonSocket } from './json-socket.ts'
import { abortable } from './qmp-client.ts'

/** What a guest command did. */
export interface GuestExecResult {
  exitCode: number
  /** set when a signal ended it */
  signal?: number
  stdout: Uint8Array
  stderr: Uint8Array
}

const SYNC_DELIMITER = Uint8Array.of(0xff)

function isRecord (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export class GuestAgent {
  readonly #socket: JsonSocket
  /** replies not yet taken by #next, in arrival order */
  readonly #inbox: Array<Record<string, unknown>> = []
  #waiter: (() => void) | undefined
  #closedWith: Error | undefined
  #closed = false
  readonly #onClosed = new Set<() => void>()
  #queue: Promise<unknown> = Promise.resolve()

  private constructor (socket: (agent: GuestAgent) => JsonSocket) {
    this.#socket = socket(this)
  }

  /** Connects to the host end of the agent's port (QEMU's socket; the guest need not be up). */
  static async connect (path: string, options: { signal?: AbortSignal } = {}): Promise<GuestAgent> {
    let agent: GuestAgent | undefined
    const socket = await connectJsonSocket(path, {
      maxLineBytes: MAX_AGENT_LINE_BYTES,
      resetByte: 0xff,
      onMessage: (v) => {
        if (!isRecord(v) || agent === undefined) return
        agent.#inbox.push(v)
        agent.#waiter?.()
      },
      onClose: (err) => {
        if (agent === undefined) return
        agent.#closed = true
        agent.#closedWith = err
        for (const f of agent.#onClosed) f()
      }
    }, options)
    agent = new GuestAgent(() => socket)
    return agent
  }

  /** Resolves once the agent in the guest answers (a guest still booting answers when its agent starts). */
  async ping (options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#serial(async () => { await this.#sync(options.signal) })
  }

  /** Runs an agent command and returns its `return` value; `ERR_GUEST_AGENT` on an error answer. */
  async execute<T = unknown> (command: string, args?: Record<string, unknown>, options: { signal?: AbortSignal } = {}): Promise<T> {
    return await this.#serial(async () => {
      await this.#sync(options.signal)
      const reply = this.#next(options.signal)
      this.#socket.send(args === undefined ? { execute: command } : { execute: command, arguments: args })
      const r = await reply
      if ('return' in r) return r.return as T
      const e = isRecord(r.error) ? r.error : {}
      throw new SessionError('ERR_GUEST_AGENT', `guest agent: ${command}: ${String(e.class ?? 'Error')}: ${String(e.desc ?? 'no description')}`)
    })
  }

  /**
   * Runs a program in the guest (`guest-exec`, output captured) and waits for it to end
   * (`guest-exec-status`, asked every GUEST_EXEC_POLL_MS: the agent has no completion event).
   */
  async exec (path: string, args: string[] = [], options: { signal?: AbortSignal, input?: Uint8Array } = {}): Promise<GuestExecResult> {
    const pid = await this.spawn(path, args, { ...options, captureOutput: true })
    return await this.wait(pid, options)
  }

  /**
   * Starts a program in the guest (`guest-exec`) and returns its guest pid without waiting.
   * Without `captureOutput` its output goes nowhere: nothing piles up in the agent for a
   * program that runs for hours.
   */
  async spawn (path: string, args: string[] = [], options: { signal?: AbortSignal, input?: Uint8Array, captureOutput?: boolean } = {}): Promise<number> {
    const started = await this.execute<{ pid: number }>('guest-exec', {
      path,
      arg: args,
      'capture-output': options.captureOutput === true,
      ...(options.input === undefined ? {} : { 'input-data': Buffer.from(options.input).toString('base64') })
    }, options)
    if (!Number.isInteger(started?.pid)) throw new SessionError('ERR_GUEST_AGENT', 'guest agent: guest-exec answered without a pid')
    return started.pid
  }

  /** Waits for a program `spawn` started to end; its output when it was captured. */
  async wait (pid: number, options: { signal?: AbortSignal } = {}): Promise<GuestExecResult> {
    for (;;) {
      const s = await this.execute<Record<string, unknown>>('guest-exec-status', { pid }, options)
      if (s.exited === true) {
        return {
          exitCode: typeof s.exitcode === 'number' ? s.exitcode : -1,
          ...(typeof s.signal === 'number' ? { signal: s.signal } : {}),
          stdout: Buffer.from(typeof s['out-data'] === 'string' ? s['out-data'] : '', 'base64'),
          stderr: Buffer.from(typeof s['err-data'] === 'string' ? s['err-data'] : '', 'base64')
        }
      }
      await delay(GUEST_EXEC_POLL_MS, undefined, { signal: options.signal })
    }
  }

  close (): void { this.#socket.close() }

  async #serial<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn)
    this.#queue = run.catch(() => {})
    return await run
  }

  /** The next reply line, or ERR_GUEST_AGENT when the channel closes first. */
  async #next (signal: AbortSignal | undefined): Promise<Record<string, unknown>> {
    const queued = this.#inbox.shift()
    if (queued !== undefined) return queued
    if (this.#closed) throw new SessionError('ERR_GUEST_AGENT', 'guest agent channel closed', { cause: this.#closedWith })
    let onClose: (() => void) | undefined
    try {
      await abortable(new Promise<void>((resolve, reject) => {
        this.#waiter = resolve
        onClose = () => reject(new SessionError('ERR_GUEST_AGENT', 'guest agent channel closed', { cause: this.#closedWith }))
        this.#onClosed.add(onClose)
      }), signal)
      return this.#inbox.shift()!
    } finally {
      this.#waiter = undefined
      if (onClose !== undefined) this.#onClosed.delete(onClose)
    }
  }

  async #sync (signal: AbortSignal | undefined): Promise<void> {
    const id = randomInt(1, 2 ** 31)
    this.#socket.send({ execute: 'guest-sync-delimited', arguments: { id } }, SYNC_DELIMITER)
    for (;;) {
      // anything before our id is an answer to an earlier, abandoned request
      const r = await this.#next(signal)
      if (r.return === id) return
    }
  }
}
