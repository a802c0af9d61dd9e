/**
 * Reads exact byte counts from a socket, for protocols of fixed-size headers (NBD). Pieces
 * are kept as they arrived and joined once per read, so a message split into many small
 * pieces costs linear time. At most `maxBuffered` bytes are held: beyond that the socket is
 * paused until a read takes them.
 */
import type { Socket } from 'node:net'

/** The socket ended or failed before the bytes asked for arrived. */
export class ReaderClosedError extends Error {
  constructor () { super('connection closed') }
}

export class ByteReader {
  private readonly socket: Socket
  private readonly maxBuffered: number
  private readonly pieces: Buffer[] = []
  private buffered = 0
  private closed = false
  private waiter: (() => void) | undefined

  constructor (socket: Socket, maxBuffered: number) {
    this.socket = socket
    this.maxBuffered = maxBuffered
    socket.on('data', (piece: Buffer) => {
      this.pieces.push(piece)
      this.buffered += piece.byteLength
      if (this.buffered >= this.maxBuffered) socket.pause()
      this.wake()
    })
    const close = (): void => { this.closed = true; this.wake() }
    socket.once('end', close)
    socket.once('close', close)
  }

  /** Resolves to exactly `n` bytes (n ≤ maxBuffered); rejects with ReaderClosedError if they never come. */
  async read (n: number): Promise<Buffer> {
    if (n > this.maxBuffered) throw new RangeError(`read of ${n} bytes over the ${this.maxBuffered}-byte bound`)
    while (this.buffered < n) {
      if (this.closed) throw new ReaderClosedError()
      this.socket.resume()
      await new Promise<void>((resolve) => { this.waiter = resolve })
    }
    if (n === 0) return Buffer.alloc(0)
    const first = this.pieces[0]!
    let out: Buffer
    if (first.byteLength >= n) {
      out = first.subarray(0, n)
      if (first.byteLength === n) this.pieces.shift()
      else this.pieces[0] = first.subarray(n)
    } else {
      out = Buffer.allocUnsafe(n)
      let at = 0
      while (at < n) {
        const p = this.pieces[0]!
        const take = Math.min(p.byteLength, n - at)
        p.copy(out, at, 0, take)
        at += take
        if (take === p.byteLength) this.pieces.shift()
        else this.pieces[0] = p.subarray(take)
      }
    }
    this.buffered -= n
    if (this.buffered < this.maxBuffered) this.socket.resume()
    return out
  }

  private wake (): void {
    const w = this.waiter
    this.waiter = undefined
    w?.()
  }
}
