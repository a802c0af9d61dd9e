/**
 * The baseline of the pull-CPU bench, in its own process: a bare libp2p peer fetches every
 * distinct chunk of the image from the seeder over `/branchcast/chunks/1` (two streams, as
 * the puller uses), each verified by the client and then dropped — transport + Noise +
 * yamux + SHA-256, no disk, no scheduler. Prints `{ cpuMs, bytes, wallMs }` for the fetch.
 *
 * argv[2]: JSON { tracker, token, image, version, seeder: string[] (multiaddrs) }
 */
import { applyDaemonV8Flags } from '../../node/daemon/v8-flags.ts'

// the daemon's V8 settings, before the node's modules load: a like-for-like baseline
applyDaemonV8Flags()
const { generateKeyPair } = await import('@libp2p/crypto/keys')
const { createApiClient, createLogger, encodeHave, readChunkList, verifyManifest } = await import('../../protocol/index.ts')
const { createPeerNode, createTrackerClient, fetchChunksFromPeer, loadTrust } = await import('../../node/index.ts')
const { fetchChunkFromOrigin } = await import('../../node/origin/index.ts')

const args = JSON.parse(process.argv[2]!) as { tracker: string, token: string, image: string, version: number, seeder: string[], trustDir: string }
const logger = createLogger({ level: 'warn' })
// the announce proves this peer id with its key (the tracker binds no unproven id)
const peerKey = await generateKeyPair('Ed25519')
const tracker = createTrackerClient(createApiClient({ baseUrl: args.tracker, token: args.token }), { peerKey })
const node = await createPeerNode({ privateKey: peerKey, listen: ['/ip4/127.0.0.1/tcp/0'], logger })
await node.start()
const trust = (await loadTrust(args.trustDir))!
const manifest = verifyManifest(await tracker.manifest(args.image, args.version), { publicKey: trust.repositoryKey, nowMs: Date.now(), image: args.image })
const answer = await tracker.announce({ image: args.image, version: args.version, peerId: node.peerId, site: 'bench-raw', addrs: node.multiaddrs, have: encodeHave(new Uint8Array(Math.ceil(manifest.chunkCount / 8))), haveCount: 0 })
const ids = new Set<string>()
for await (const ref of readChunkList(manifest, async (id, o) => await fetchChunkFromOrigin(answer.origin, id, { signal: o.signal }))) ids.add(ref.id)
const all = [...ids]
const BATCH = 256
const cpu0 = process.cpuUsage()
const t0 = Date.now()
let bytes = 0
let next = 0
await Promise.all([0, 1].map(async () => {
  while (next < all.length) {
    const batch = all.slice(next, next + BATCH)
    next += BATCH
    for await (const c of fetchChunksFromPeer(node, args.seeder, answer.capability!, batch)) {
      if (c.missing === true) throw new Error(`seeder lacks ${c.id}`)
      bytes += c.bytes.length
    }
  }
}))
const cpu = process.cpuUsage(cpu0)
process.stdout.write(JSON.stringify({ cpuMs: (cpu.user + cpu.system) / 1000, bytes, wallMs: Date.now() - t0 }) + '\n')
await node.stop()
