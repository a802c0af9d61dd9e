/**
 * A tracker with an image published and assigned, and in-process nodes that pull it: the
 * real tracker, real libp2p peers on loopback, real image stores in temp dirs.
 */
import { randomBytes, createHash } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { createApiClient } from '../../protocol/api/client.ts'
import { createLogger } from '../../protocol/logger.ts'
import { createChunkServer, createPeerNode, loadOrCreatePeerKey, PeerBans } from '../../node/peer/index.ts'
import type { ChunkServer, ChunkServerInit, PeerNode } from '../../node/peer/index.ts'
import { createImageStore } from '../../node/image-store/index.ts'
import type { CorruptChunk, ImageStore } from '../../node/image-store/index.ts'
import { createPuller } from '../../node/pull/index.ts'
import type { EventSink, Puller } from '../../node/pull/index.ts'
import { createTrackerClient } from '../../node/tracker-client.ts'
import { enroll } from '../../node/trust.ts'
import type { TestTracker } from './tracker.ts'
import { makeTmpDir } from './tmp-dir.ts'

const silent = createLogger({ level: 'silent' })

/** Deterministic image-like bytes: random runs, repeated runs and zero runs. */
export function sampleImage (bytes: number, seed = 1): Uint8Array {
  const out = new Uint8Array(bytes)
  let x = seed >>> 0 || 1
  let at = 0
  while (at < bytes) {
    const run = Math.min(bytes - at, 4096 + (x % 200_000))
    const kind = x % 5
    if (kind <= 2) {
      const r = createHash('sha256').update(`${seed}:${at}`).digest()
      for (let i = 0; i < run; i++) out[at + i] = r[i % 32]! ^ (i * 2654435761 >>> 24)
    } // else zeros (kind 3, 4): sparse regions
    at += run
    x = (x * 1103515245 + 12345) >>> 0
  }
  return out
}

export interface Workspace {
  image: string
  userToken: string
  imageBytes: Uint8Array
  sha256: string
  version: number
}

/** Creates the image, uploads and publishes `bytes`, assigns a policy to `user`. */
export async function publishAndAssign (tt: TestTracker, opts: { image?: string, bytes: Uint8Array, user?: string, p2pAllowed?: boolean }): Promise<Workspace> {
  const image = opts.image ?? 'desktop'
  const user = opts.user ?? 'alice'
  const admin = createApiClient({ baseUrl: tt.url, token: tt.adminToken })
  await admin.request('POST', '/api/v1/images', { json: { name: image } }).catch((err) => { if (err.status !== 409) throw err })
  const up = await admin.json<{ version: number }>('POST', `/api/v1/images/${image}/versions`, {
    query: { publish: true }, body: opts.bytes, headers: { 'content-type': 'application/octet-stream' }
  })
  const policy = `${image}-${user}-${up.version}`
  await admin.request('POST', '/api/v1/policies', { json: { name: policy, image, p2pAllowed: opts.p2pAllowed ?? true } })
  await admin.request('POST', '/api/v1/assignments', { json: { policy, user } })
  return { image, userToken: await tt.tokenFor(user), imageBytes: opts.bytes, sha256: createHash('sha256').update(opts.bytes).digest('hex'), version: up.version }
}

export interface TestNode {
  node: PeerNode
  images: ImageStore
  /** chunks found damaged on disk under this node */
  corrupt: CorruptChunk[]
  server: ChunkServer
  puller: Puller
  dataDir: string
  stop: () => Promise<void>
}

/** An in-process node: enrolled against the tracker, serving its images, ready to pull. */
export async function startTestNode (tt: TestTracker, token: string, opts: { site?: string, server?: ChunkServerInit, dataDir?: string, keepVersions?: number, events?: EventSink } = {}): Promise<TestNode> {
  const dataDir = opts.dataDir ?? await makeTmpDir('branchcast-node-')
  const peerKey = await loadOrCreatePeerKey(dataDir)
  const tracker = createTrackerClient(createApiClient({ baseUrl: tt.url, token }), { peerKey })
  const trust = await enroll(dataDir, tt.url, await tracker.keys())
  const corrupt: CorruptChunk[] = []
  const images = await createImageStore({ dataDir, logger: silent, onCorrupt: (c) => { corrupt.push(c) } })
  const node = await createPeerNode({ privateKey: peerKey, listen: ['/ip4/127.0.0.1/tcp/0'], logger: silent })
  const server = createChunkServer(opts.server ?? {}, { node, source: images, capabilityPublicKey: trust.capabilityKey, logger: silent })
  await server.start()
  await node.start()
  const puller = createPuller({ tracker, trust, images, keepVersions: opts.keepVersions, peer: node, site: opts.site ?? 'branch-1', logger: silent, now: Date.now, bans: new PeerBans(), events: opts.events })
  return {
    node, images, corrupt, server, puller, dataDir,
    async stop () {
      try { await server.stop(); await node.stop(); await images.close() } finally { if (opts.dataDir === undefined) await rm(dataDir, { recursive: true, force: true }) }
    }
  }
}

export function randomImage (bytes: number): Uint8Array { return new Uint8Array(randomBytes(bytes)) }
