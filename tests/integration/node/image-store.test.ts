/**
 * The image is the store (issue 9): disk use after a pull and after updates, older
 * versions as the local source, a chunk damaged on disk under a serving node, a capability
 * for one image reaching another's chunks, and a manifest for another version than asked.
 * Real tracker, real libp2p peers on loopback, real files.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash, randomBytes } from 'node:crypto'
import { open, readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { createApiClient } from '../../../protocol/api/client.ts'
import { encodeHave } from '../../../protocol/swarm/bitfield.ts'
import { fetchChunksFromPeer, loadOrCreatePeerKey } from '../../../node/peer/index.ts'
import type { FetchedChunk } from '../../../node/peer/index.ts'
import { createPuller } from '../../../node/pull/index.ts'
import { createTrackerClient } from '../../../node/tracker-client.ts'
import type { TrackerClient } from '../../../node/tracker-client.ts'
import { loadTrust } from '../../../node/trust.ts'
import { startTestTracker } from '../../helpers/tracker.ts'
import type { TestTracker } from '../../helpers/tracker.ts'
import { publishAndAssign, sampleImage, startTestNode } from '../../helpers/swarm.ts'
import type { TestNode, Workspace } from '../../helpers/swarm.ts'
import { rejects } from '../../helpers/rejects.ts'
import { silent } from '../../helpers/test-peer.ts'
import { diskBytes } from '../../helpers/disk-usage.ts'
import { IMAGE_WRITE_BATCH_BYTES } from '../../../node/constants.ts'

const IMAGE = 6 * 1024 * 1024
/** A fresh bound per call: a signal made at import time runs out while earlier suites run. */
const bound = (): { signal: AbortSignal } => ({ signal: AbortSignal.timeout(120_000) })

function sha256 (bytes: Uint8Array): string { return createHash('sha256').update(bytes).digest('hex') }

/** `bytes` with `count` bytes at `at` replaced: an update that leaves most chunks as they were. */
function edited (bytes: Uint8Array, at: number, count: number): Uint8Array {
  const out = bytes.slice()
  out.set(randomBytes(count), at)
  return out
}

/** The tracker as node `n` sees it: its announces prove `n`'s peer id with `n`'s key. */
async function trackerFor (tt: TestTracker, ws: Workspace, n: TestNode): Promise<TrackerClient> {
  return createTrackerClient(createApiClient({ baseUrl: tt.url, token: ws.userToken }), { peerKey: await loadOrCreatePeerKey(n.dataDir) })
}

/** A capability for `image` bound to `n`'s peer id, as the tracker hands it to a puller. */
async function capabilityFor (tt: TestTracker, ws: Workspace, n: TestNode, image: string, version: number): Promise<string> {
  const a = await (await trackerFor(tt, ws, n)).announce({ image, version, peerId: n.node.peerId, site: 'branch-1', addrs: n.node.multiaddrs, have: encodeHave(new Uint8Array(0)), haveCount: 0 })
  assert.ok(a.capability !== undefined, 'the policy allows p2p')
  return a.capability
}

/** A tracker and the nodes a test starts on it (`start`), all stopped afterwards. */
async function withSwarm (fn: (s: { tt: TestTracker, start: (token: string, opts?: Parameters<typeof startTestNode>[2]) => Promise<TestNode> }) => Promise<void>): Promise<void> {
  const tt = await startTestTracker()
  const nodes: TestNode[] = []
  try {
    await fn({ tt, start: async (token, opts) => { const n = await startTestNode(tt, token, opts); nodes.push(n); return n } })
  } finally {
    for (const n of nodes) await n.stop()
    await tt.stop()
  }
}

async function collect (it: AsyncIterable<FetchedChunk>): Promise<FetchedChunk[]> {
  const out: FetchedChunk[] = []
  for await (const c of it) out.push(c)
  return out
}

test('after a pull the data directory holds ≤ 1.05 × the image; after updates with keep 2, ≤ 2.05 ×, reusing local chunks', async () => {
  await withSwarm(async ({ tt, start }) => {
    const v1 = sampleImage(IMAGE, 21).map((b, i) => (b === 0 && i % 7 === 0 ? 1 : b)) // no holes: measure the worst case
    const ws1 = await publishAndAssign(tt, { bytes: v1 })
    const n = await start(ws1.userToken, { keepVersions: 2 })
    const r1 = await n.puller.pull({ image: ws1.image, ...bound() })
    assert.is(sha256(await readFile(r1.path)), ws1.sha256)
    const one = await diskBytes(n.dataDir, { exclude: ['events'] })
    assert.ok(one <= 1.05 * IMAGE, `data dir ${one} for an image of ${IMAGE}`)

    const ws2 = await publishAndAssign(tt, { bytes: edited(v1, IMAGE / 2, 256 * 1024) })
    const r2 = await n.puller.pull({ image: ws2.image, ...bound() })
    assert.is(r2.version, ws2.version)
    assert.is(sha256(await readFile(r2.path)), ws2.sha256)
    assert.ok(r2.bytesFromLocal > IMAGE / 2, `reused ${r2.bytesFromLocal} of ${IMAGE} from v1`)
    assert.ok(r2.decodedBytesFromOrigin + r2.decodedBytesFromPeers < IMAGE / 4, `fetched ${r2.decodedBytesFromOrigin + r2.decodedBytesFromPeers}`)
    assert.is(r2.bytesFromLocal + r2.decodedBytesFromPeers + r2.decodedBytesFromOrigin >= IMAGE, true, 'every byte accounted for')
    const two = await diskBytes(n.dataDir, { exclude: ['events'] })
    assert.ok(two <= 2.05 * IMAGE, `data dir ${two} with two versions of ${IMAGE}`)

    const ws3 = await publishAndAssign(tt, { bytes: edited(v1, IMAGE / 4, 64 * 1024) })
    const r3 = await n.puller.pull({ image: ws3.image, ...bound() })
    assert.is(sha256(await readFile(r3.path)), ws3.sha256)
    const left = (await readdir(join(n.dataDir, 'images', ws1.image))).sort()
    assert.equal(left.filter((f) => f.endsWith('.img')), [`${ws2.version}.img`, `${ws3.version}.img`], left.join(','))
    assert.ok(await diskBytes(n.dataDir, { exclude: ['events'] }) <= 2.05 * IMAGE)
    // v1 is gone with its list parts; what remains still opens and serves
    assert.equal((await n.images.versions(ws1.image)).map((v) => v.version), [ws3.version, ws2.version])
  })
})

test('a chunk damaged on disk under a serving node is not served, is reported, and is fetched again', async () => {
  await withSwarm(async ({ tt, start }) => {
    const ws = await publishAndAssign(tt, { bytes: sampleImage(IMAGE, 31) })
    const seeder = await start(ws.userToken)
    const r = await seeder.puller.pull({ image: ws.image, ...bound() })
    const [v] = await seeder.images.versions(ws.image)
    // a chunk with data in it (not a hole), damaged behind the node's back
    const t = v!.table
    let u = 0
    while ((await v!.read(u)).every((b) => b === 0)) u++
    const offset = t.offsets[t.unitIndexes[t.unitIndexStart[u]!]!]!
    const fh = await open(r.path, 'r+')
    try { await fh.write(Uint8Array.of(0xde, 0xad, 0xbe, 0xef), 0, 4, offset + 17) } finally { await fh.close() }

    const client = await start(ws.userToken)
    const token = await capabilityFor(tt, ws, client, ws.image, ws.version)
    const got = await collect(fetchChunksFromPeer(client.node, seeder.node.multiaddrs, token, [t.unitId(u), t.unitId(u + 1)], bound()))
    assert.equal(got.map((c) => c.missing === true), [true, false], 'the damaged chunk is answered missing, its neighbour served')
    assert.equal(seeder.corrupt.map((c) => [c.image, c.version, c.chunkId, c.offset]), [[ws.image, ws.version, t.unitId(u), offset]])
    assert.is(v!.has(u), false, 'no longer held')

    const again = await seeder.puller.pull({ image: ws.image, ...bound() })
    assert.ok(again.decodedBytesFromOrigin + again.decodedBytesFromPeers >= t.unitLengths[u]!, 'the damaged chunk came again')
    assert.ok(again.bytesFromLocal > 0 && again.bytesFromLocal < IMAGE, 'the rest stayed where it was')
    assert.is(sha256(await readFile(again.path)), ws.sha256)
  })
})

test('chunks are copied into a few write arenas reused batch after batch: a caller\'s buffer is free once put returns', async () => {
  await withSwarm(async ({ tt, start }) => {
    const batches = 16
    const size = batches * IMAGE_WRITE_BATCH_BYTES // many batches, so reuse shows
    const ws = await publishAndAssign(tt, { bytes: sampleImage(size, 71) })
    const n = await start(ws.userToken)
    const r = await n.puller.pull({ image: ws.image, ...bound() })
    assert.is(sha256(await readFile(r.path)), ws.sha256)
    const [v] = await n.images.versions(ws.image)
    // a few in use at once (one filling, one or two written); a pause in arrivals may let one go
    assert.ok(v!.writeArenasAllocated >= 1 && v!.writeArenasAllocated <= batches / 2, `${v!.writeArenasAllocated} arenas for ${batches} batches`)

    // a repaired unit: its bytes are overwritten by the caller as soon as put resolves
    let u = 0
    while ((await v!.read(u)).every((b) => b === 0)) u++
    const original = await v!.read(u)
    await v!.discard(u)
    const scratch = Buffer.from(original)
    await v!.put(u, scratch)
    scratch.fill(0xff)
    await v!.flush()
    assert.ok(v!.has(u))
    assert.equal(await v!.read(u), original, 'what was written is the bytes as they were at put')
  })
})

test('a version still being pulled serves the chunks it holds', async () => {
  const stopPull = new AbortController()
  await withSwarm(async ({ tt, start }) => {
    const ws = await publishAndAssign(tt, { bytes: sampleImage(IMAGE, 61) })
    const puller = await start(ws.userToken)
    // a slow origin: the pull is half-way for seconds
    let reached: () => void = () => {}
    const halfWay = new Promise<void>((resolve) => { reached = resolve })
    const pulling = puller.puller.pull({ image: ws.image, originRateBytesPerSec: 1024 * 1024, signal: AbortSignal.any([stopPull.signal, AbortSignal.timeout(60_000)]), onProgress: (p) => { if (p.phase === 'transfer' && p.doneBytes >= IMAGE / 8) reached() } })
    pulling.catch(() => {})
    await Promise.race([halfWay, pulling])
    const [v] = await puller.images.versions(ws.image)
    assert.is(v!.ready, false)
    // written chunks are held once their batch is on disk (≤ IMAGE_WRITE_FLUSH_MS after arrival)
    await v!.flush()
    let u = 0
    while (!v!.has(u)) u++

    const asker = await start(ws.userToken)
    const token = await capabilityFor(tt, ws, asker, ws.image, ws.version)
    const got = await collect(fetchChunksFromPeer(asker.node, puller.node.multiaddrs, token, [v!.table.unitId(u)], bound()))
    assert.is(got[0]!.missing === true, false, 'a held chunk of a partial version is served')
    stopPull.abort()
    await pulling.catch(() => {})
  }).finally(() => { stopPull.abort() })
})

test('chunks located in a version deleted before they are read come back as gone, not as an error', async () => {
  await withSwarm(async ({ tt, start }) => {
    const ws = await publishAndAssign(tt, { bytes: sampleImage(IMAGE, 62) })
    const n = await start(ws.userToken)
    await n.puller.pull({ image: ws.image, ...bound() })
    const [v] = await n.images.versions(ws.image)
    const ids = [0, 1, 2].map((u) => v!.table.unitId(u))
    const places = await n.images.places.locate(ws.image, ids)
    assert.ok(places.every((p) => p !== undefined))
    const targets = places.map((p) => new Uint8Array(p!.length))
    assert.equal(await n.images.places.read(places.map((p) => p!), targets), [true, true, true])
    assert.equal(targets.map(sha256), ids)
    // pruned between the server's locate and its read (an update landed meanwhile)
    assert.equal(await n.images.deleteVersions(ws.image, [ws.version]), [ws.version])
    assert.equal(await n.images.places.read(places.map((p) => p!), targets), [false, false, false])
    assert.equal(await n.images.places.locate(ws.image, ids), [undefined, undefined, undefined])
  })
})

test('a capability for one image does not fetch a chunk of another from a peer holding both', async () => {
  await withSwarm(async ({ tt, start }) => {
    const alpha = await publishAndAssign(tt, { image: 'alpha', bytes: sampleImage(IMAGE / 2, 41) })
    const beta = await publishAndAssign(tt, { image: 'beta', bytes: sampleImage(IMAGE / 2, 42) })
    const holder = await start(alpha.userToken)
    await holder.puller.pull({ image: 'alpha', ...bound() })
    await holder.puller.pull({ image: 'beta', ...bound() })
    const [a] = await holder.images.versions('alpha')
    const [b] = await holder.images.versions('beta')
    const ids = (t: NonNullable<typeof a>['table']): string[] => Array.from({ length: t.units }, (_, u) => t.unitId(u))
    const onlyBeta = ids(b!.table).find((id) => !a!.table.hasId(id))!
    const alphaChunk = ids(a!.table).find((id) => !b!.table.hasId(id))!

    const asker = await start(alpha.userToken)
    const forAlpha = await capabilityFor(tt, alpha, asker, 'alpha', alpha.version)
    const got = await collect(fetchChunksFromPeer(asker.node, holder.node.multiaddrs, forAlpha, [onlyBeta, alphaChunk], bound()))
    assert.equal(got.map((c) => c.missing === true), [true, false], "beta's chunk is missing to an alpha capability; alpha's is served")
    const forBeta = await capabilityFor(tt, beta, asker, 'beta', beta.version)
    const got2 = await collect(fetchChunksFromPeer(asker.node, holder.node.multiaddrs, forBeta, [onlyBeta], bound()))
    assert.is(got2[0]!.missing === true, false, "beta's capability reaches it")
  })
})

test('a manifest for another version than asked is refused before it raises the rollback floor', async () => {
  await withSwarm(async ({ tt, start }) => {
    const ws1 = await publishAndAssign(tt, { bytes: sampleImage(IMAGE / 4, 51) })
    const ws2 = await publishAndAssign(tt, { bytes: sampleImage(IMAGE / 4, 52) })
    const n = await start(ws1.userToken)
    const honest = await trackerFor(tt, ws1, n)
    // a man in the middle answers version 2 whatever is asked
    const swapped: TrackerClient = { ...honest, manifest: async (image, _version, o) => await honest.manifest(image, ws2.version, o) }
    const trust = (await loadTrust(n.dataDir))!
    const events: Array<{ type: string }> = []
    const mitm = createPuller({ tracker: swapped, trust, images: n.images, peer: n.node, site: 'branch-1', logger: silent, now: Date.now, events: { emit: (type) => { events.push({ type }) } } })
    await rejects(mitm.pull({ image: ws1.image, version: ws1.version, ...bound() }), { code: 'ERR_MANIFEST_WRONG_VERSION' })
    assert.is(trust.lastAccepted(ws1.image), undefined, 'the floor did not move')
    assert.equal(await n.images.versions(ws1.image), [], 'nothing was pulled')
    const r = await n.puller.pull({ image: ws1.image, version: ws1.version, ...bound() })
    assert.is(r.version, ws1.version)
    assert.is(sha256(await readFile(r.path)), ws1.sha256)
  })
})

test.run()
