/**
 * Serves `/branchcast/chunks/1`: answers each REQUEST whose capability token is bound to
 * the requester's peer id, in order, with CHUNK or MISSING per id and then DONE. Chunks
 * come from a `ChunkSource` asked for the token's image only, so a capability for one
 * image never fetches another's chunk. Every chunk is verified against its id before it
 * goes out (damaged bytes are discarded by their holder and answered MISSING), upload
 * slots bound who is served at once, and an optional token bucket caps the upload rate
 * over all streams.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Connection, Stream } from '@libp2p/interface'
import {
  CHUNK_PROTOCOL, MAX_IDS_PER_REQUEST, MAX_TOKEN_BYTES, chunkId, encodeAnswers, encodeRefused, layoutAnswers, readFrames
} from '../../protocol/index.ts'
import type { ChunkAnswer, RefusalCode } from '../../protocol/index.ts'
import { verifyCapability } from '../../protocol/index.ts'
import type { CapabilityClaims } from '../../protocol/index.ts'
import { decodeStoredChunk } from '../../protocol/index.ts'
import type { ChunkId } from '../../protocol/index.ts'
import { isBranchcastError } from '../../protocol/index.ts'
import type { Logger } from '../../protocol/index.ts'
import {
  CHUNK_STREAM_IDLE_MS, DEFAULT_UPLOAD_BURST_BYTES, DEFAULT_UPLOAD_SLOTS_PER_PEER, DEFAULT_UPLOAD_SLOTS_TOTAL,
  MAX_INBOUND_CHUNK_STREAMS, MAX_OUTBOUND_CHUNK_STREAMS, UPLOAD_READ_AHEAD_CHUNKS, UPLOAD_WRITE_BYTES
} from '../constants.ts'
import { createTokenBucket } from './rate-limiter.ts'
import type { TokenBucket } from './rate-limiter.ts'
import { chunkStoreSource } from './store-source.ts'
import type { ChunkPlace, ChunkPlaces, ChunkServerComponents, ChunkServerInit, ChunkServerStats, ChunkServer as ChunkServerInterface, ChunkSource, PeerNode } from './index.ts'

/** A requester only ever sends REQUEST frames: token, count, ids, with varint prefixes. */
const MAX_REQUEST_FRAME_BYTES = 1 + 2 + MAX_TOKEN_BYTES + 2 + 32 * MAX_IDS_PER_REQUEST

function positiveInt (value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback
  if (!Number.isSafeInteger(v) || v < 1) throw new TypeError(`${name} must be a positive integer`)
  return v
}

export class ChunkServer implements ChunkServerInterface {
  readonly #node: PeerNode
  readonly #components: ChunkServerComponents
  readonly #source: ChunkSource
  readonly #now: () => number
  readonly #log: Logger
  readonly #slotsPerPeer: number
  readonly #slotsTotal: number
  readonly #idleMs: number
  readonly #bucket: TokenBucket | undefined
  readonly #slotsByPeer = new Map<string, number>()
  #slotsInUse = 0
  readonly #active = new Set<Stream>()
  #started = false
  readonly stats: ChunkServerStats = { activeStreams: 0, chunksServed: 0, bytesServed: 0, refused: { 'invalid-token': 0, busy: 0, 'bad-request': 0 } }

  constructor (init: ChunkServerInit, components: ChunkServerComponents) {
    if (components.capabilityPublicKey?.asymmetricKeyType !== 'ed25519') throw new TypeError('capabilityPublicKey must be an Ed25519 public key')
    this.#node = components.node
    this.#components = components
    if ((components.source === undefined) === (components.store === undefined)) throw new TypeError('give a chunk source or a chunk store, not both')
    this.#source = components.source ?? chunkStoreSource(components.store!, components.canServe)
    this.#now = components.now ?? Date.now
    this.#log = components.logger.forComponent('node:peer:chunk-server')
    this.#slotsPerPeer = positiveInt(init.uploadSlotsPerPeer, DEFAULT_UPLOAD_SLOTS_PER_PEER, 'uploadSlotsPerPeer')
    this.#slotsTotal = positiveInt(init.uploadSlotsTotal, DEFAULT_UPLOAD_SLOTS_TOTAL, 'uploadSlotsTotal')
    this.#idleMs = positiveInt(init.idleTimeoutMs, CHUNK_STREAM_IDLE_MS, 'idleTimeoutMs')
    this.#bucket = init.uploadRateBytesPerSec === undefined
      ? undefined
      : createTokenBucket({ rateBytesPerSec: init.uploadRateBytesPerSec, burstBytes: init.uploadBurstBytes ?? DEFAULT_UPLOAD_BURST_BYTES, nowMs: this.#now() })
  }

  async start (): Promise<void> {
    if (this.#started) return
    await this.#node.libp2p.handle(CHUNK_PROTOCOL, async (stream, connection) => { await this.#serve(stream, connection) }, {
      maxInboundStreams: MAX_INBOUND_CHUNK_STREAMS,
      maxOutboundStreams: MAX_OUTBOUND_CHUNK_STREAMS
    })
    this.#started = true
  }

  async stop (): Promise<void> {
    if (!this.#started) return
    this.#started = false
    await this.#node.libp2p.unhandle(CHUNK_PROTOCOL)
    for (const stream of this.#active) stream.abort(new Error('chunk server stopped'))
  }

  #acquire (peer: string): boolean {
    const mine = this.#slotsByPeer.get(peer) ?? 0
    if (mine >= this.#slotsPerPeer || this.#slotsInUse >= this.#slotsTotal) return false
    this.#slotsByPeer.set(peer, mine + 1)
    this.#slotsInUse++
    return true
  }

  #release (peer: string): void {
    const mine = this.#slotsByPeer.get(peer) ?? 0
    if (mine <= 1) this.#slotsByPeer.delete(peer)
    else this.#slotsByPeer.set(peer, mine - 1)
    this.#slotsInUse--
  }

  async #serve (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    const ac = new AbortController()
    const onClose = (): void => { ac.abort(new Error('stream closed')) }
    stream.addEventListener('close', onClose)
    const idle = setTimeout(() => { stream.abort(new Error('chunk stream idle')) }, this.#idleMs)
    this.#active.add(stream)
    this.stats.activeStreams++
    let slot = false
    let claims: CapabilityClaims | undefined
    let lastToken: string | undefined

    const send = async (buf: Uint8Array): Promise<void> => {
      if (this.#bucket !== undefined) {
        const waitMs = this.#bucket.reserve(buf.byteLength, this.#now())
        if (waitMs > 0) await sleep(waitMs, undefined, { signal: ac.signal })
      }
      if (!stream.send(buf)) await stream.onDrain({ signal: ac.signal })
      idle.refresh()
    }
    const refuse = async (code: RefusalCode, message: string): Promise<void> => {
      this.stats.refused[code]++
      this.#log.debug('refused', { peer, code, message })
      stream.send(encodeRefused(code, message))
      // the requester reads REFUSED and drops the stream; we stop reading it
      await stream.close({ signal: AbortSignal.any([ac.signal, AbortSignal.timeout(this.#idleMs)]) })
    }

    try {
      for await (const msg of readFrames(stream, { maxFrameBytes: MAX_REQUEST_FRAME_BYTES })) {
        idle.refresh()
        if (msg.type !== 'request') {
          await refuse('bad-request', `expected a request, got ${msg.type}`)
          return
        }
        if (msg.token !== lastToken || claims === undefined || claims.exp <= this.#now()) {
          try {
            claims = verifyCapability(msg.token, { aud: 'peer', sub: peer, publicKey: this.#components.capabilityPublicKey, nowMs: this.#now() })
            lastToken = msg.token
          } catch (err) {
            await refuse('invalid-token', (err as Error).message)
            return
          }
        }
        if (!slot) {
          if (!this.#acquire(peer)) {
            await refuse('busy', 'no upload slot free')
            return
          }
          slot = true
        }
        await this.#answerAll(msg.ids, claims.img, send)
      }
      // the requester closed its side and everything it asked is answered (and flushed
      // to the transport by close(); the requester counts DONEs, so it sees any loss)
      await stream.close({ signal: AbortSignal.any([ac.signal, AbortSignal.timeout(this.#idleMs)]) })
    } catch (err) {
      if (!ac.signal.aborted) this.#log.debug('chunk stream failed', { peer, err })
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    } finally {
      clearTimeout(idle)
      stream.removeEventListener('close', onClose)
      this.#active.delete(stream)
      this.stats.activeStreams--
      if (slot) this.#release(peer)
    }
  }

  /**
   * Answers `ids` in order and then DONE. Disk reads run a few chunks ahead of the sends,
   * so a busy thread pool's latency does not stall the stream; answers go out together in
   * one write of UPLOAD_WRITE_BYTES (one yamux frame, one window update back, full Noise
   * messages), or fewer at the end of a request. Sending whatever was read whenever the
   * next read was still pending made nearly every 64 KiB chunk a write of its own on a
   * loaded machine: a Noise message and a runt, and a window update back, per chunk.
   */
  async #answerAll (ids: readonly ChunkId[], image: string, send: (buf: Uint8Array) => Promise<void>): Promise<void> {
    if (this.#source.places !== undefined) {
      await this.#answerAllPlaced(this.#source.places, ids, image, send)
      return
    }
    const reads: Array<Promise<ChunkAnswer>> = []
    let next = 0
    const readAhead = (upTo: number): void => {
      while (next < ids.length && next < upTo) {
        const r = this.#answer(ids[next++]!, image)
        r.catch(() => {}) // awaited in order below
        reads.push(r)
      }
    }
    let group: ChunkAnswer[] = []
    let groupBytes = 0
    for (let i = 0; i < ids.length; i++) {
      readAhead(i + 1 + UPLOAD_READ_AHEAD_CHUNKS)
      const a = await reads[i]!
      reads[i] = undefined as never // let the sent chunk go
      group.push(a)
      groupBytes += a.data?.byteLength ?? 0
      const last = i === ids.length - 1
      if (last || groupBytes >= UPLOAD_WRITE_BYTES) {
        await send(encodeAnswers(group, last))
        group = []
        groupBytes = 0
      }
    }
  }

  /**
   * `#answerAll` for a source that places chunks raw in files (a node's images): each group
   * is laid out from the chunks' lengths, the chunks are read straight into their slots
   * (adjacent ones in one read) and verified there. A chunk costs no buffer of its own and a
   * group one trip to the thread pool; before, each chunk was read into a buffer of its own
   * (a trip each, ~40 µs of CPU on a busy machine) and copied into the group. The group's
   * buffer comes back once Noise has sealed it (the node's send buffers). The next group is read
   * while this one goes out.
   */
  async #answerAllPlaced (places: ChunkPlaces, ids: readonly ChunkId[], image: string, send: (buf: Uint8Array) => Promise<void>): Promise<void> {
    const where = await places.locate(image, ids)
    // groups of at most UPLOAD_WRITE_BYTES of chunks (a larger chunk goes alone)
    const groups: Array<[number, number]> = []
    let start = 0
    let groupBytes = 0
    for (let i = 0; i < ids.length; i++) {
      const bytes = where[i]?.length ?? 0
      if (i > start && groupBytes + bytes > UPLOAD_WRITE_BYTES) {
        groups.push([start, i])
        start = i
        groupBytes = 0
      }
      groupBytes += bytes
    }
    groups.push([start, ids.length])
    const prepare = (g: number): Promise<Uint8Array> => {
      const [from, to] = groups[g]!
      const p = this.#readGroup(places, ids.slice(from, to), where.slice(from, to), image, g === groups.length - 1)
      p.catch(() => {}) // awaited in order below
      return p
    }
    let next = prepare(0)
    for (let g = 0; g < groups.length; g++) {
      const ready = next
      if (g + 1 < groups.length) next = prepare(g + 1)
      await send(await ready)
    }
  }

  /** One group's bytes: its chunks read into their slots and verified (a chunk that fails goes out as MISSING). */
  async #readGroup (places: ChunkPlaces, ids: readonly ChunkId[], where: ReadonlyArray<ChunkPlace | undefined>, image: string, done: boolean): Promise<Uint8Array> {
    const { bytes, slots } = layoutAnswers(ids.map((id, i) => ({ id, length: where[i]?.length })), done, (n) => this.#node.sendBuffers.take(n))
    const placed: number[] = []
    for (let i = 0; i < ids.length; i++) if (where[i] !== undefined) placed.push(i)
    const read = await places.read(placed.map((i) => where[i]!), placed.map((i) => slots[i]!))
    const served = new Array<boolean>(ids.length).fill(false)
    for (const [k, i] of placed.entries()) {
      if (!read[k]) continue // gone meanwhile: a miss
      if (chunkId(slots[i]!) !== ids[i]) {
        this.#log.warn('held chunk failed verification; not served', { id: ids[i], image })
        await places.discard(where[i]!)
        continue
      }
      served[i] = true
      this.stats.chunksServed++
      this.stats.bytesServed += slots[i]!.byteLength
    }
    if (placed.every((i) => served[i])) return bytes
    // some chunk could not be served after all: the group again, with those as misses
    return encodeAnswers(ids.map((id, i) => served[i] ? { id, data: slots[i]!, compressed: false } : { id }), done)
  }

  /** The answer for one requested id: the chunk as held, verified, or missing. */
  async #answer (id: ChunkId, image: string): Promise<ChunkAnswer> {
    const held = await this.#source.read(image, id)
    if (held === undefined) return { id }
    let chunk: Uint8Array
    try {
      chunk = decodeStoredChunk(id, held.data, { errorOptions: { peerFault: false } })
    } catch (err) {
      if (!isBranchcastError(err, 'ERR_CHUNK_CORRUPT')) throw err
      this.#log.warn('held chunk failed verification; not served', { id, image })
      await held.discard()
      return { id }
    }
    this.stats.chunksServed++
    this.stats.bytesServed += held.data.byteLength
    // decodeStoredChunk hands back the stored bytes themselves when they are the raw chunk
    return { id, data: held.data, compressed: chunk !== held.data }
  }
}
