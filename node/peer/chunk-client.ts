/**
 * Fetches chunks from one peer over `/branchcast/chunks/1`: pipelines the ids as batched
 * REQUEST frames on one stream while reading the answers (a bounded number of requests
 * unanswered, so a fast peer cannot run far ahead of the reader), verifies each chunk against the
 * id it asked for, and yields chunks or misses in request order. Anything wrong from the
 * peer throws a typed error naming it (`peerId`) with `peerFault: true`
 * (`ChunkCorruptError`, `ChunkProtocolError`); a refusal or a vanished peer throws with
 * `peerFault: false` (`PeerRefusedError`, `PeerUnavailableError`).
 */
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId, Stream } from '@libp2p/interface'
import {
  CHUNK_PROTOCOL, ChunkProtocolError, MAX_FRAME_BYTES, MAX_IDS_PER_REQUEST, encodeRequest, readFrames
} from '../../protocol/index.ts'
import { decodeStoredChunk } from '../../protocol/index.ts'
import { isChunkId } from '../../protocol/index.ts'
import type { ChunkId } from '../../protocol/index.ts'
import { BranchcastError } from '../../protocol/index.ts'
import { MAX_CHUNK_BYTES_CEILING } from '../../protocol/index.ts'
import { CHUNK_STREAM_CLOSE_GRACE_MS as CLOSE_GRACE_MS, FETCH_REQUEST_CHUNKS, FETCH_REQUESTS_AHEAD, MAX_IDS_PER_FETCH } from '../constants.ts'
import { PeerRefusedError, PeerUnavailableError } from './errors.ts'
import type { PeerNode } from './index.ts'

/**
 * Whom to fetch from: a peer id (dialled at addresses libp2p already knows), multiaddrs
 * ending in `/p2p/<peer id>` (as the tracker lists them), or both given apart.
 */
export type PeerTarget = string | readonly string[] | { peerId: string, multiaddrs?: readonly string[] }

export type FetchedChunk = { id: ChunkId, bytes: Uint8Array, missing?: false } | { id: ChunkId, missing: true }

/** One answer as it came over the wire, for transfer accounting. */
export interface ChunkTransferEvent {
  id: ChunkId
  /** the stored form's size on the wire (0 for a miss) */
  wireBytes: number
  compressed: boolean
  missing: boolean
}

export interface FetchChunksOptions {
  signal?: AbortSignal
  /** called for each answer before it is yielded */
  onChunk?: (event: ChunkTransferEvent) => void
  /** largest chunk accepted (the manifest's maximum); default the protocol ceiling */
  maxChunkBytes?: number
  /**
   * A chunk's bytes are valid only until the loop asks for the next chunk (they share a
   * buffer reused for it): for a consumer that copies them at once, as the image store's
   * `put` does. Saves a buffer per chunk, which was a third of a pulling node's garbage.
   */
  transient?: boolean
}

function resolveTarget (target: PeerTarget): { peerId: string, dial: PeerId | Multiaddr[] } {
  if (typeof target === 'string') {
    if (target.startsWith('/')) return resolveTarget([target])
    return { peerId: target, dial: peerIdFromString(target) }
  }
  if (Array.isArray(target)) {
    const addrs = (target as readonly string[]).map(a => multiaddr(a))
    const ids = new Set(addrs.map(a => /\/p2p\/([^/]+)/.exec(a.toString())?.[1]))
    const [only] = ids
    if (ids.size !== 1 || only === undefined) throw new TypeError('multiaddrs must all end in /p2p/<the same peer id>, or pass { peerId, multiaddrs }')
    return { peerId: only, dial: addrs }
  }
  const { peerId, multiaddrs } = target as { peerId: string, multiaddrs?: readonly string[] }
  peerIdFromString(peerId) // TypeError-like failure for a malformed id, before any I/O
  if (multiaddrs === undefined || multiaddrs.length === 0) return { peerId, dial: peerIdFromString(peerId) }
  const dial = multiaddrs.map(a => {
    const ma = multiaddr(a)
    const named = /\/p2p\/([^/]+)/.exec(ma.toString())?.[1]
    if (named === undefined) return ma.encapsulate(`/p2p/${peerId}`)
    if (named !== peerId) throw new TypeError(`multiaddr ${a} names another peer than ${peerId}`)
    return ma
  })
  return { peerId, dial }
}

/** Whether no open connection to `peerId` is left, once the closing one has settled. */
async function connectionGone (node: PeerNode, peerId: string): Promise<boolean> {
  await new Promise<void>((resolve) => { setImmediate(resolve) })
  return !node.libp2p.getConnections(peerIdFromString(peerId)).some((c) => c.status === 'open')
}

function blame<E extends BranchcastError> (err: E, peerId: string): E & { peerId: string } {
  return Object.assign(err, { peerId })
}

/**
 * Fetches `ids` (1..MAX_IDS_PER_FETCH) from one peer, presenting `token` (a peer
 * capability bound to this node's peer id). Yields `{ id, bytes }` (verified) or
 * `{ id, missing: true }` per id, in order. Breaking out of the loop or aborting `signal`
 * drops the stream.
 */
export async function * fetchChunksFromPeer (node: PeerNode, peer: PeerTarget, token: string, ids: readonly ChunkId[], options: FetchChunksOptions = {}): AsyncGenerator<FetchedChunk, void, undefined> {
  if (typeof token !== 'string' || token.length === 0) throw new TypeError('token must be a non-empty string')
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_IDS_PER_FETCH) throw new TypeError(`ids must hold 1..${MAX_IDS_PER_FETCH} chunk ids`)
  for (const id of ids) if (!isChunkId(id)) throw new TypeError('not a chunk id')
  const maxChunkBytes = options.maxChunkBytes ?? MAX_CHUNK_BYTES_CEILING
  const { peerId, dial } = resolveTarget(peer)
  const { signal } = options
  signal?.throwIfAborted()

  const batches: ChunkId[][] = []
  const perRequest = Math.min(MAX_IDS_PER_REQUEST, FETCH_REQUEST_CHUNKS)
  for (let i = 0; i < ids.length; i += perRequest) batches.push(ids.slice(i, i + perRequest))
  // encode before dialling: a token too long is our mistake, not the peer's
  const requests = batches.map(b => encodeRequest(token, b))

  let stream: Stream
  try {
    stream = await node.libp2p.dialProtocol(dial, CHUNK_PROTOCOL, { signal })
  } catch (err) {
    if (signal?.aborted === true) throw signal.reason
    throw new PeerUnavailableError(peerId, `cannot open a chunk stream to ${peerId}: ${(err as Error).message}`, { cause: err, unreachable: true })
  }

  const onAbort = (): void => { stream.abort(signal?.reason instanceof Error ? signal.reason : new Error('aborted')) }
  signal?.addEventListener('abort', onAbort, { once: true })
  let finished = false
  // batches answered in full (DONE read): the writer keeps FETCH_REQUESTS_AHEAD unanswered
  let answered = 0
  let onAnswered: (() => void) | undefined
  const answeredOne = (): void => { answered++; onAnswered?.() }

  // Requests go out while answers come in, from a writer of its own: one that waited for
  // the reader to finish would deadlock once both directions' windows fill.
  const writer = (async () => {
    for (let r = 0; r < requests.length; r++) {
      while (r - answered >= FETCH_REQUESTS_AHEAD) {
        if (stream.status !== 'open') return // the reader gave up: it reports why
        await new Promise<void>((resolve) => {
          const wake = (): void => { onAnswered = undefined; stream.removeEventListener('close', wake); resolve() }
          onAnswered = wake
          stream.addEventListener('close', wake)
        })
      }
      if (!stream.send(requests[r]!)) await stream.onDrain()
    }
    await stream.close()
  })()
  writer.catch(() => {}) // a failed write resets the stream; the reader reports it

  try {
    let batch = 0
    let i = 0 // index into ids of the next expected answer
    let batchEnd = batches[0]!.length
    frames: for await (const msg of readFrames(stream, { maxFrameBytes: MAX_FRAME_BYTES, reuse: options.transient })) {
      switch (msg.type) {
        case 'refused':
          throw new PeerRefusedError(peerId, msg.code, msg.message)
        case 'chunk':
        case 'missing': {
          if (i >= batchEnd || msg.id !== ids[i]) throw blame(new ChunkProtocolError(`peer ${peerId} sent ${msg.id} unasked or out of order`), peerId)
          const id = ids[i++]!
          if (msg.type === 'missing') {
            options.onChunk?.({ id, wireBytes: 0, compressed: false, missing: true })
            yield { id, missing: true }
            break
          }
          let bytes: Uint8Array
          try {
            bytes = decodeStoredChunk(id, msg.data, { maxBytes: maxChunkBytes })
          } catch (err) {
            if (err instanceof BranchcastError) throw blame(err, peerId)
            throw err
          }
          // a raw chunk is a view into the frame buffer: copy it when that buffer is much
          // larger, so it does not pin its neighbours (a copy per chunk is a GC cost per byte)
          if (options.transient !== true && bytes === msg.data && bytes.buffer.byteLength > 2 * bytes.byteLength) bytes = new Uint8Array(bytes)
          options.onChunk?.({ id, wireBytes: msg.data.byteLength, compressed: msg.compressed, missing: false })
          yield { id, bytes }
          break
        }
        case 'done':
          if (i !== batchEnd) throw blame(new ChunkProtocolError(`peer ${peerId} ended a batch with ${batchEnd - i} ids unanswered`), peerId)
          batch++
          answeredOne()
          if (batch === batches.length) {
            finished = true
            break frames
          }
          batchEnd += batches[batch]!.length
          break
        case 'request':
          throw blame(new ChunkProtocolError(`peer ${peerId} sent a request on our stream`), peerId)
      }
    }
    if (!finished) throw blame(new ChunkProtocolError(`peer ${peerId} ended the stream after ${i} of ${ids.length} answers`), peerId)
  } catch (err) {
    if (signal?.aborted === true) throw signal.reason
    // A peer that died (crash, SIGKILL, power loss) ends its streams cleanly from here, cut
    // anywhere, like a liar truncating on purpose. Only a liar keeps its connection up:
    // with the connection gone it is a vanished peer, not a ban and a security event.
    if (err instanceof ChunkProtocolError && await connectionGone(node, peerId)) {
      throw new PeerUnavailableError(peerId, `connection to ${peerId} lost mid-answer: ${err.message}`, { cause: err, unreachable: true })
    }
    if (err instanceof BranchcastError) {
      if (err instanceof ChunkProtocolError && (err as { peerId?: string }).peerId === undefined) throw blame(err, peerId)
      throw err
    }
    throw new PeerUnavailableError(peerId, `chunk stream from ${peerId} failed: ${(err as Error).message}`, { cause: err })
  } finally {
    signal?.removeEventListener('abort', onAbort)
    if (finished) {
      // every answer is in; our side is closed (or closing)
      // and the peer closes its own side; one that never does is reset after a grace period.
      // The timer goes as soon as the stream closes: it holds the stream, and a pull ends
      // ~90 streams a second (kept for the whole grace, they were ~20 MiB of a pulling
      // daemon's heap)
      const linger = setTimeout(() => { if (stream.status !== 'closed') stream.abort(new Error('peer kept the stream open')) }, CLOSE_GRACE_MS)
      linger.unref()
      if (stream.status === 'closed') clearTimeout(linger)
      else stream.addEventListener('close', () => { clearTimeout(linger) }, { once: true })
      writer.then(async () => { await stream.close() }).catch(() => { stream.abort(new Error('close failed')) })
    } else {
      stream.abort(new Error('chunk fetch ended early'))
    }
  }
}
