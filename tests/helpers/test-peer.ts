/**
 * Serving and fetching peers on loopback for the peer tests and benches: a real libp2p
 * node with a chunk store in a temp dir and a chunk server, plus a capability key to mint
 * peer tokens with. Always `stop()`: it stops the node and removes the directory.
 */
import { randomBytes } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createChunkStore } from '../../protocol/store/chunk-store.ts'
import type { ChunkStore } from '../../protocol/store/chunk-store.ts'
import { signCapability } from '../../protocol/signing/capability.ts'
import type { CapabilityClaims } from '../../protocol/signing/capability.ts'
import { generateSigningKey } from '../../protocol/signing/signing.ts'
import type { SigningKeyPair } from '../../protocol/signing/signing.ts'
import { createLogger } from '../../protocol/logger.ts'
import { createChunkServer, createPeerNode } from '../../node/peer/index.ts'
import type { ChunkServer, ChunkServerComponents, ChunkServerInit, PeerNode } from '../../node/peer/index.ts'
import { makeTmpDir } from './tmp-dir.ts'

export const silent = createLogger({ level: 'silent' })

export interface TestPeer {
  node: PeerNode
  store: ChunkStore
  server: ChunkServer
  dir: string
  stop: () => Promise<void>
}

export async function startTestPeer (capability: SigningKeyPair, init: ChunkServerInit = {}, extra: Partial<Pick<ChunkServerComponents, 'canServe' | 'now'>> & { compress?: boolean } = {}): Promise<TestPeer> {
  const dir = await makeTmpDir('branchcast-peer-')
  let node: PeerNode | undefined
  try {
    const store = await createChunkStore({ dir, compress: extra.compress, logger: silent })
    node = await createPeerNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], logger: silent })
    const server = createChunkServer(init, { node, store, capabilityPublicKey: capability.publicKey, logger: silent, canServe: extra.canServe, now: extra.now })
    await server.start()
    await node.start()
    const started = node
    return {
      node, store, server, dir,
      async stop () {
        try { await server.stop(); await started.stop() } finally { await rm(dir, { recursive: true, force: true }) }
      }
    }
  } catch (err) {
    await node?.stop().catch(() => {})
    await rm(dir, { recursive: true, force: true })
    throw err
  }
}

/** A client-only node (it fetches, it does not serve). */
export async function startClientNode (): Promise<PeerNode> {
  const node = await createPeerNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], logger: silent })
  await node.start()
  return node
}

export function peerToken (capability: SigningKeyPair, sub: string, claims: Partial<Omit<CapabilityClaims, 'v' | 'sub'>> = {}): string {
  const now = Date.now()
  return signCapability({ aud: 'peer', sub, img: 'win11', iat: now - 1000, exp: now + 10 * 60_000, ...claims }, capability.privateKey)
}

export function makeCapabilityKey (): SigningKeyPair {
  return generateSigningKey()
}

/** `count` chunks of `bytes` each; every third compresses well, the rest are random. */
export function makeChunks (count: number, bytes = 64 * 1024): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let i = 0; i < count; i++) {
    if (i % 3 === 2) out.push(new Uint8Array(bytes).fill(i & 0xff).map((v, j) => (j % 1024 === 0 ? (i >> 8) & 0xff : v)))
    else out.push(randomBytes(bytes))
  }
  return out
}
