/**
 * `/branchcast/chunks/1`: the peer-to-peer chunk protocol, wire format and codec.
 *
 * A stream carries frames: `varint(length) ‖ type byte ‖ body`. The requester sends
 * REQUEST frames (a capability token and up to MAX_IDS_PER_REQUEST chunk ids); the server
 * answers each, in order, with one CHUNK or MISSING frame per id and then DONE, or with
 * REFUSED and closes. Several requests may be pipelined on one stream. Chunks travel in
 * their stored form (raw or one zstd frame): the receiver decodes with a size cap and
 * verifies the SHA-256 before it keeps or serves a byte.
 */
import { MAX_VARINT_BYTES, readVarint, varintLength, writeVarint } from './varint.ts'
import { BranchcastError } from '../errors.ts'
import type { ChunkId } from '../store/chunk-id.ts'
import { MAX_CHUNK_BYTES_CEILING } from '../chunking/chunking-params.ts'

export const CHUNK_PROTOCOL = '/branchcast/chunks/1'

/** A batch big enough to keep a peer's pipe full at ~64 KiB chunks, small enough to cancel. */
export const MAX_IDS_PER_REQUEST = 64
/** The largest chunk any manifest may name, plus framing. Bigger frames end the stream. */
export const MAX_FRAME_BYTES = MAX_CHUNK_BYTES_CEILING + 64
/** Capability tokens are small (see capability.ts). */
export const MAX_TOKEN_BYTES = 2048
const MAX_TEXT_BYTES = 512

export const FRAME = { REQUEST: 1, CHUNK: 2, MISSING: 3, REFUSED: 4, DONE: 5 } as const

export type RefusalCode = 'invalid-token' | 'busy' | 'bad-request'
const REFUSAL_CODES: ReadonlySet<string> = new Set<RefusalCode>(['invalid-token', 'busy', 'bad-request'])

export type ChunkMessage =
  | { type: 'request', token: string, ids: ChunkId[] }
  | { type: 'chunk', id: ChunkId, compressed: boolean, data: Uint8Array }
  | { type: 'missing', id: ChunkId }
  | { type: 'refused', code: RefusalCode, message: string }
  | { type: 'done' }

/** A peer broke the wire format: the stream is dropped and the peer may be banned. */
export class ChunkProtocolError extends BranchcastError {
  constructor (message: string, options?: { cause?: unknown }) { super('ERR_CHUNK_PROTOCOL', message, options) }
}

const textEncoder = new TextEncoder()
// ignoreBOM keeps a leading U+FEFF: stripping it gave a token or message two encodings
const textDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

function frame (type: number, bodyBytes: number, fill: (buf: Uint8Array, offset: number) => void): Uint8Array {
  const len = 1 + bodyBytes
  const buf = new Uint8Array(varintLength(len) + len)
  let o = writeVarint(buf, 0, len)
  buf[o++] = type
  fill(buf, o)
  return buf
}

function idBytes (id: ChunkId): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(id)) throw new TypeError('not a chunk id')
  return Buffer.from(id, 'hex')
}

export function encodeRequest (token: string, ids: readonly ChunkId[]): Uint8Array {
  const t = textEncoder.encode(token)
  if (t.length > MAX_TOKEN_BYTES) throw new TypeError('token too long')
  if (ids.length === 0 || ids.length > MAX_IDS_PER_REQUEST) throw new TypeError(`a request carries 1..${MAX_IDS_PER_REQUEST} ids`)
  const body = varintLength(t.length) + t.length + varintLength(ids.length) + 32 * ids.length
  return frame(FRAME.REQUEST, body, (buf, o) => {
    o = writeVarint(buf, o, t.length)
    buf.set(t, o); o += t.length
    o = writeVarint(buf, o, ids.length)
    for (const id of ids) { buf.set(idBytes(id), o); o += 32 }
  })
}

/** `data` is the chunk in its stored form; `compressed` says whether it is a zstd frame. */
export function encodeChunk (id: ChunkId, data: Uint8Array, compressed: boolean): Uint8Array {
  if (data.length > MAX_CHUNK_BYTES_CEILING) throw new TypeError('chunk too large for the protocol')
  return frame(FRAME.CHUNK, 33 + data.length, (buf, o) => {
    buf.set(idBytes(id), o)
    buf[o + 32] = compressed ? 1 : 0
    buf.set(data, o + 33)
  })
}

/** What a server answers for one requested id: the chunk in stored form, or that it lacks it. */
export type ChunkAnswer =
  | { id: ChunkId, data: Uint8Array, compressed: boolean }
  | { id: ChunkId, data?: undefined }

/** One answer of a group being laid out: a chunk of `length` stored bytes, or a miss (no length). */
export interface AnswerSlot { id: ChunkId, length?: number, compressed?: boolean }

function answerBytes (length: number | undefined): number {
  const body = length === undefined ? 1 + 32 : 1 + 33 + length
  return varintLength(body) + body
}

/**
 * CHUNK and MISSING frames for `answers`, in order, then DONE when `done`, in one buffer
 * with each chunk's bytes left to fill: `slots[i]` is where answer i's stored bytes go
 * (undefined for a miss). A server reads chunks straight into their slots; every slot must
 * be filled (or the group laid out again without it) before the bytes go out. `alloc`
 * gives the buffer (default a new zeroed one); every byte outside the slots is written.
 */
export function layoutAnswers (answers: readonly AnswerSlot[], done: boolean, alloc: (bytes: number) => Uint8Array = (n) => new Uint8Array(n)): { bytes: Uint8Array, slots: Array<Uint8Array | undefined> } {
  let total = done ? 2 : 0
  for (const a of answers) {
    if (a.length !== undefined && (!Number.isSafeInteger(a.length) || a.length < 0 || a.length > MAX_CHUNK_BYTES_CEILING)) throw new TypeError('chunk too large for the protocol')
    total += answerBytes(a.length)
  }
  const bytes = alloc(total)
  if (bytes.length !== total) throw new TypeError('alloc must give the bytes asked for')
  const slots: Array<Uint8Array | undefined> = []
  let o = 0
  for (const a of answers) {
    const id = idBytes(a.id)
    if (a.length === undefined) {
      o = writeVarint(bytes, o, 33)
      bytes[o++] = FRAME.MISSING
      bytes.set(id, o); o += 32
      slots.push(undefined)
    } else {
      o = writeVarint(bytes, o, 34 + a.length)
      bytes[o++] = FRAME.CHUNK
      bytes.set(id, o); o += 32
      bytes[o++] = a.compressed === true ? 1 : 0
      slots.push(bytes.subarray(o, o + a.length)); o += a.length
    }
  }
  if (done) { bytes[o++] = 1; bytes[o++] = FRAME.DONE }
  return { bytes, slots }
}

/**
 * CHUNK and MISSING frames for `answers`, in order, then DONE when `done`: the same bytes
 * as encoding each alone, back to back in one buffer, so a server hands the transport
 * one write per group instead of one per chunk (each write becomes a yamux frame, a
 * window update back and Noise messages of its own).
 */
export function encodeAnswers (answers: readonly ChunkAnswer[], done: boolean): Uint8Array {
  const { bytes, slots } = layoutAnswers(answers.map((a) => ({ id: a.id, length: a.data?.length, compressed: a.data === undefined ? undefined : a.compressed })), done)
  for (const [i, a] of answers.entries()) if (a.data !== undefined) slots[i]!.set(a.data)
  return bytes
}

export function encodeMissing (id: ChunkId): Uint8Array {
  return frame(FRAME.MISSING, 32, (buf, o) => { buf.set(idBytes(id), o) })
}

export function encodeRefused (code: RefusalCode, message: string): Uint8Array {
  const c = textEncoder.encode(code)
  const m = textEncoder.encode(message).subarray(0, MAX_TEXT_BYTES)
  return frame(FRAME.REFUSED, varintLength(c.length) + c.length + varintLength(m.length) + m.length, (buf, o) => {
    o = writeVarint(buf, o, c.length); buf.set(c, o); o += c.length
    o = writeVarint(buf, o, m.length); buf.set(m, o)
  })
}

export function encodeDone (): Uint8Array {
  return frame(FRAME.DONE, 0, () => {})
}

function readText (body: Uint8Array, o: number, max: number): [string, number] {
  const [len, p] = readVarint(body, o, max)
  if (p + len > body.length) throw new RangeError('text runs past the frame')
  return [textDecoder.decode(body.subarray(p, p + len)), p + len]
}

/** Decodes one frame body (type byte first). Throws ChunkProtocolError on anything off. */
export function decodeFrame (body: Uint8Array): ChunkMessage {
  try {
    const type = body[0]
    switch (type) {
      case FRAME.REQUEST: {
        const [token, p] = readText(body, 1, MAX_TOKEN_BYTES)
        const [count, q] = readVarint(body, p, MAX_IDS_PER_REQUEST)
        if (count === 0 || q + 32 * count !== body.length) throw new RangeError('request ids do not fill the frame')
        const ids: ChunkId[] = []
        for (let i = 0; i < count; i++) ids.push(Buffer.from(body.subarray(q + 32 * i, q + 32 * (i + 1))).toString('hex'))
        return { type: 'request', token, ids }
      }
      case FRAME.CHUNK: {
        if (body.length < 34 || body[33]! > 1) throw new RangeError('chunk frame too short or bad encoding flag')
        return { type: 'chunk', id: Buffer.from(body.subarray(1, 33)).toString('hex'), compressed: body[33] === 1, data: body.subarray(34) }
      }
      case FRAME.MISSING:
        if (body.length !== 33) throw new RangeError('missing frame must hold one id')
        return { type: 'missing', id: Buffer.from(body.subarray(1, 33)).toString('hex') }
      case FRAME.REFUSED: {
        const [code, p] = readText(body, 1, 64)
        const [message, q] = readText(body, p, MAX_TEXT_BYTES)
        if (q !== body.length || !REFUSAL_CODES.has(code)) throw new RangeError('bad refusal')
        return { type: 'refused', code: code as RefusalCode, message }
      }
      case FRAME.DONE:
        if (body.length !== 1) throw new RangeError('done frame has a body')
        return { type: 'done' }
      default:
        throw new RangeError(`unknown frame type ${String(type)}`)
    }
  } catch (err) {
    if (err instanceof ChunkProtocolError) throw err
    throw new ChunkProtocolError(`malformed frame: ${(err as Error).message}`, { cause: err })
  }
}

export interface ReadFramesOptions {
  /** a frame longer than this ends the stream (default MAX_FRAME_BYTES) */
  maxFrameBytes?: number
  /**
   * A frame that spans pieces is copied into one buffer reused for the next such frame, so
   * a message (a chunk's `data`) is valid only until the next one is asked for: for a
   * reader that copies or drops each at once. Saves a buffer per frame.
   */
  reuse?: boolean
}

/** A Uint8Array, or a list of them (libp2p's Uint8ArrayList iterates its pieces). */
type Bytes = Uint8Array | Iterable<Uint8Array>

/**
 * Reads frames from a byte stream (a libp2p stream yields `Uint8Array | Uint8ArrayList`).
 * Refuses a frame over `maxFrameBytes` as soon as its length prefix arrives, and a stream
 * that ends inside a frame — silent truncation never passes for a clean end.
 *
 * Linear in the bytes received however finely they are cut: pieces are held by reference
 * until a frame is complete and copied once into it (a frame inside one piece is not
 * copied at all). Appending each piece to the partial frame instead made a 4 MiB frame in
 * 256-byte pieces cost seconds of CPU.
 */
export async function * readFrames (source: AsyncIterable<Bytes>, options: ReadFramesOptions = {}): AsyncGenerator<ChunkMessage> {
  const max = options.maxFrameBytes ?? MAX_FRAME_BYTES
  const pending = new PendingBytes(options.reuse === true)
  let frame: FramePrefix | undefined
  for await (const piece of source) {
    // a list's pieces are taken by reference: joining them here would copy every byte once
    // more than a frame that spans pieces needs
    if (piece instanceof Uint8Array) pending.push(piece)
    else for (const p of piece) pending.push(p)
    while (true) {
      frame ??= readFramePrefix(pending.peek(MAX_VARINT_BYTES), max)
      if (frame === undefined) break // the prefix itself may be split across pieces
      if (pending.length < frame.prefixBytes + frame.bodyBytes) break // a partial frame waits; it never exceeds max + prefix
      pending.skip(frame.prefixBytes)
      const body = pending.take(frame.bodyBytes)
      frame = undefined
      yield decodeFrame(body)
    }
  }
  if (pending.length > 0) throw new ChunkProtocolError('stream ended inside a frame')
}

interface FramePrefix { prefixBytes: number, bodyBytes: number }

/** The frame's length prefix at the start of `head`; undefined while it is still incomplete. */
function readFramePrefix (head: Uint8Array, max: number): FramePrefix | undefined {
  if (head.length < MAX_VARINT_BYTES && head.every((b) => (b & 0x80) !== 0)) return undefined
  let len: number, start: number
  try {
    [len, start] = readVarint(head, 0)
  } catch (err) {
    throw new ChunkProtocolError('malformed frame length', { cause: err })
  }
  if (len === 0) throw new ChunkProtocolError('empty frame')
  if (len > max) throw new ChunkProtocolError(`frame of ${len} bytes exceeds ${max}`)
  return { prefixBytes: start, bodyBytes: len }
}

/** Received bytes not yet consumed, held as the pieces they came in. */
class PendingBytes {
  #pieces: Uint8Array[] = []
  #length = 0
  readonly #reuse: boolean
  /** with reuse: the buffer frames that span pieces are copied into */
  #scratch = new Uint8Array(0)

  constructor (reuse: boolean) { this.#reuse = reuse }

  get length (): number { return this.#length }

  push (bytes: Uint8Array): void {
    if (bytes.length === 0) return
    this.#pieces.push(bytes)
    this.#length += bytes.length
  }

  /** Up to `n` bytes from the front, without consuming them (copies at most `n`). */
  peek (n: number): Uint8Array {
    const first = this.#pieces[0]
    if (first === undefined || first.length >= n || this.#pieces.length === 1) return first?.subarray(0, n) ?? new Uint8Array(0)
    return this.#copy(Math.min(n, this.#length), false)
  }

  skip (n: number): void { this.take(n) }

  /** The next `n` bytes (n <= length): a view when one piece holds them, else one copy. */
  take (n: number): Uint8Array {
    const first = this.#pieces[0]!
    if (first.length >= n) {
      if (first.length === n) this.#pieces.shift()
      else this.#pieces[0] = first.subarray(n)
      this.#length -= n
      return first.subarray(0, n)
    }
    return this.#copy(n, true)
  }

  #copy (n: number, consume: boolean): Uint8Array {
    let out: Uint8Array
    if (consume && this.#reuse) {
      if (this.#scratch.length < n) this.#scratch = new Uint8Array(n)
      out = this.#scratch.subarray(0, n)
    } else {
      out = new Uint8Array(n)
    }
    let filled = 0
    let i = 0
    while (filled < n) {
      const piece = this.#pieces[i]!
      const used = Math.min(piece.length, n - filled)
      out.set(used === piece.length ? piece : piece.subarray(0, used), filled)
      filled += used
      if (used === piece.length) i++
      else if (consume) this.#pieces[i] = piece.subarray(used)
    }
    if (consume) {
      // one splice per frame: shifting piece by piece would make this quadratic again
      this.#pieces.splice(0, i)
      this.#length -= n
    }
    return out
  }
}
