/**
 * One JSON value per line over a Unix socket: what QMP and the guest agent both speak.
 * Lines are capped in bytes (a broken or hostile QEMU/guest cannot make us buffer without
 * end); the guest agent's 0xFF sync delimiter, when asked for, drops whatever came before it.
 */
import { connect } from 'node:net'
import type { Socket } from 'node:net'

export interface JsonSocketInit {
  /** a line longer than this closes the connection with an error */
  maxLineBytes: number
  /** 0xFF for the guest agent: bytes before it are a half-read reply from before a sync */
  resetByte?: number
  /** each parsed line */
  onMessage: (value: unknown) => void
  /** once, when the socket is gone; `err` when it broke (oversized or unparsable line, I/O error) */
  onClose: (err: Error | undefined) => void
}

/** Connects to the Unix socket at `path` and reads it as JSON lines. */
export async function connectJsonSocket (path: string, init: JsonSocketInit, options: { signal?: AbortSignal } = {}): Promise<JsonSocket> {
  options.signal?.throwIfAborted()
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect(path)
    const onAbort = (): void => { s.destroy(); reject(options.signal?.reason) }
    options.signal?.addEventListener('abort', onAbort, { once: true })
    s.once('connect', () => { options.signal?.removeEventListener('abort', onAbort); s.off('error', reject); resolve(s) })
    s.once('error', (err) => { options.signal?.removeEventListener('abort', onAbort); reject(err) })
  })
  return new JsonSocket(socket, init)
}

export class JsonSocket {
  readonly #socket: Socket
  readonly #init: JsonSocketInit
  #parts: Buffer[] = []
  #partBytes = 0
  #failure: Error | undefined
  #closed = false

  constructor (socket: Socket, init: JsonSocketInit) {
    this.#socket = socket
    this.#init = init
    socket.on('data', (b: Buffer) => this.#data(b))
    socket.on('error', (err) => { this.#failure ??= err })
    socket.on('close', () => {
      this.#closed = true
      init.onClose(this.#failure)
    })
  }

  get closed (): boolean { return this.#closed }

  /** Sends one value as a line; `prefix` bytes go first (the agent's 0xFF before a sync). */
  send (value: unknown, prefix?: Uint8Array): void {
    if (this.#closed) throw new Error('socket closed')
    const line = Buffer.from(JSON.stringify(value) + '\n')
    this.#socket.write(prefix === undefined ? line : Buffer.concat([prefix, line]))
  }

  close (): void { this.#socket.destroy() }

  #fail (message: string): void {
    this.#failure ??= new Error(message)
    this.#socket.destroy()
  }

  #data (chunk: Buffer): void {
    let start = 0
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!
      if (b === this.#init.resetByte) {
        this.#parts = []
        this.#partBytes = 0
        start = i + 1
      } else if (b === 0x0a) {
        this.#parts.push(chunk.subarray(start, i))
        const text = Buffer.concat(this.#parts).toString('utf8').trim()
        this.#parts = []
        this.#partBytes = 0
        start = i + 1
        if (text === '') continue
        let value: unknown
        try { value = JSON.parse(text) } catch { this.#fail('a line that is not JSON'); return }
        this.#init.onMessage(value)
        if (this.#closed) return
      }
    }
    if (start < chunk.length) {
      this.#parts.push(chunk.subarray(start))
      this.#partBytes += chunk.length - start
      if (this.#partBytes > this.#init.maxLineBytes) this.#fail(`a line longer than ${this.#init.maxLineBytes} bytes`)
    }
  }
}
