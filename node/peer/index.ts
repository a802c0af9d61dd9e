/**
 * The node's peer component: a libp2p peer with a persistent identity, the
 * `/branchcast/chunks/1` server that uploads verified chunks to authorised peers, the
 * client that fetches and verifies chunks from one peer, and the swarm's ban list.
 *
 * Shaped like a libp2p protocol service: interfaces, `Init` options and `Components`
 * dependencies here, the classes in their own files, limits in `node/constants.ts`.
 */
import type { KeyObject } from 'node:crypto'
import type { Libp2p } from 'libp2p'
import type { PrivateKey } from '@libp2p/interface'
import type { ChunkStore } from '../../protocol/index.ts'
import type { ChunkId } from '../../protocol/index.ts'
import type { Logger } from '../../protocol/index.ts'
import { Libp2pPeerNode } from './peer-node.ts'
import { ChunkServer as ChunkServerImpl } from './chunk-server.ts'
import type { SendBuffers } from './send-buffers.ts'

export { fetchChunksFromPeer } from './chunk-client.ts'
export { chunkStoreSource } from './store-source.ts'
export type { FetchChunksOptions, FetchedChunk, PeerTarget, ChunkTransferEvent } from './chunk-client.ts'
export { PeerBans, banReasonFor } from './peer-bans.ts'
export type { Ban, BanReason, PeerBansInit } from './peer-bans.ts'
export { createTokenBucket } from './rate-limiter.ts'
export type { TokenBucket, TokenBucketInit } from './rate-limiter.ts'
export { PeerRefusedError, PeerUnavailableError } from './errors.ts'
export type { PeerErrorCode } from './errors.ts'
export { loadOrCreatePeerKey } from './peer-key.ts'
export { SEND_BUFFER_BYTES, SendBuffers } from './send-buffers.ts'

// ---- the libp2p peer ----

export interface PeerNodeInit {
  /** the node's data directory: the peer key lives in `<dataDir>/peer.key` (created once) */
  dataDir?: string
  /** a key to use instead of the stored one (tests, benches) */
  privateKey?: PrivateKey
  /** listen addresses; default `/ip4/0.0.0.0/tcp/0` */
  listen?: readonly string[]
  /** announce and find branch peers by mDNS on the LAN (default false) */
  mdns?: boolean
  /** mDNS service tag, so separate deployments on one LAN do not mix */
  mdnsServiceTag?: string
}

export interface PeerNodeComponents {
  logger: Logger
}

export interface PeerNode {
  /** the libp2p peer id (base58btc string): what peer capability tokens are bound to */
  readonly peerId: string
  /** the addresses it listens on, each ending in `/p2p/<peerId>` once started */
  readonly multiaddrs: string[]
  /** the underlying libp2p node, for dialling and events (e.g. `peer:discovery` from mDNS) */
  readonly libp2p: Libp2p
  /** buffers its chunk server sends groups in, back once its connections have sealed them */
  readonly sendBuffers: SendBuffers
  start: () => Promise<void>
  stop: () => Promise<void>
}

/** Creates (does not start) the node's libp2p peer: options and components in one object. */
export async function createPeerNode (init: PeerNodeInit & PeerNodeComponents): Promise<PeerNode> {
  if (init.logger === undefined) throw new TypeError('createPeerNode needs a logger')
  return await Libp2pPeerNode.create(init, { logger: init.logger })
}

// ---- the chunk server ----

export interface ChunkServerInit {
  /** streams in service at once per requesting peer; beyond, REFUSED 'busy' */
  uploadSlotsPerPeer?: number
  /** streams in service at once in total; beyond, REFUSED 'busy' */
  uploadSlotsTotal?: number
  /** upload rate cap over all streams, bytes/s (default: none) */
  uploadRateBytesPerSec?: number
  /** token bucket depth when a rate is set */
  uploadBurstBytes?: number
  /** a stream idle (no request read, no byte sent) this long is dropped */
  idleTimeoutMs?: number
}

/** A chunk as its holder has it, before the server verifies it. */
export interface HeldChunk {
  /** the chunk in stored form: the raw bytes, or one zstd frame of them (a chunk store's file) */
  data: Uint8Array
  /** the bytes failed verification: the holder drops the chunk (and fetches it again later) */
  discard: () => Promise<void>
}

/** Where the chunk server reads chunks: the node's images, or a chunk store (tests, benches). */
export interface ChunkSource {
  /** chunk `id` as held for `image` (a capability for one image never reaches another's chunks) */
  read: (image: string, id: ChunkId) => Promise<HeldChunk | undefined>
  /**
   * For a source that holds chunks raw in files (a node's images): the server then reads
   * them straight into the buffer that goes out, adjacent chunks in one read, instead of a
   * buffer and a thread-pool trip per chunk.
   */
  places?: ChunkPlaces
}

/** Where a raw chunk lies; opaque to the server but for its length. */
export interface ChunkPlace { readonly length: number }

export interface ChunkPlaces {
  /** where each of `ids` lies as held for `image`, in order (undefined: not held) */
  locate: (image: string, ids: readonly ChunkId[]) => Promise<Array<ChunkPlace | undefined>>
  /**
   * Reads each place into its target (exactly its length), adjacent places in one read;
   * resolves per place whether it was read (false: no longer held, or the read failed).
   * The bytes are not verified here.
   */
  read: (places: readonly ChunkPlace[], targets: readonly Uint8Array[]) => Promise<boolean[]>
  /** the bytes read from `place` failed verification: the holder drops the chunk (and fetches it again later) */
  discard: (place: ChunkPlace) => Promise<void>
}

export interface ChunkServerComponents {
  /** the libp2p peer it serves on */
  node: PeerNode
  /** what it serves; or give `store` (and `canServe`) for `chunkStoreSource(store, canServe)` */
  source?: ChunkSource
  store?: ChunkStore
  /** the tracker's capability public key: peer tokens are verified offline with it */
  capabilityPublicKey: KeyObject
  /** with `store`: whether to serve `chunkId` to a holder of a token for `image` (default: any chunk held) */
  canServe?: (image: string, chunkId: ChunkId) => boolean
  logger: Logger
  /** clock for token expiry and the rate limiter; default Date.now */
  now?: () => number
}

export interface ChunkServerStats {
  activeStreams: number
  chunksServed: number
  bytesServed: number
  refused: { 'invalid-token': number, busy: number, 'bad-request': number }
}

export interface ChunkServer {
  /** mounts the protocol handler on the node (the node may be started before or after) */
  start: () => Promise<void>
  /** unmounts it and aborts streams in service */
  stop: () => Promise<void>
  readonly stats: ChunkServerStats
}

export function createChunkServer (init: ChunkServerInit, components: ChunkServerComponents): ChunkServer {
  return new ChunkServerImpl(init, components)
}
