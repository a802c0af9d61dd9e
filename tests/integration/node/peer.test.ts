// The chunk protocol between real libp2p nodes on loopback: a correct server, its
// authorisation and limits, and a server that goes away mid-transfer.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFile, writeFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { chunkId } from '../../../protocol/store/chunk-id.ts'
import { generateSigningKey } from '../../../protocol/signing/signing.ts'
import { fetchChunksFromPeer, PeerRefusedError } from '../../../node/peer/index.ts'
import type { FetchedChunk, PeerNode, PeerTarget } from '../../../node/peer/index.ts'
import { rejects } from '../../helpers/rejects.ts'
import { makeCapabilityKey, makeChunks, peerToken, silent, startClientNode, startTestPeer } from '../../helpers/test-peer.ts'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { CHUNK_PROTOCOL, encodeAnswers, readFrames } from '../../../protocol/wire/chunk-protocol.ts'
import { createPeerNode } from '../../../node/peer/index.ts'
import { CHUNK_STREAM_CLOSE_GRACE_MS, FETCH_REQUEST_CHUNKS, FETCH_REQUESTS_AHEAD } from '../../../node/constants.ts'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { until } from '../../helpers/abuse.ts'

const cap = makeCapabilityKey()
const BOUND_MS = 20_000

async function collect (gen: AsyncIterable<FetchedChunk>): Promise<FetchedChunk[]> {
  const out: FetchedChunk[] = []
  for await (const c of gen) out.push(c)
  return out
}

async function fetchAll (client: PeerNode, target: PeerTarget, token: string, ids: string[]): Promise<FetchedChunk[]> {
  return await collect(fetchChunksFromPeer(client, target, token, ids, { signal: AbortSignal.timeout(BOUND_MS) }))
}

test('two nodes exchange chunks; bytes verify; missing ids answer MISSING', async () => {
  const server = await startTestPeer(cap)
  const client = await startClientNode()
  try {
    const chunks = makeChunks(6)
    const ids: string[] = []
    for (const c of chunks) ids.push((await server.store.put(c)).id)
    const absent = chunkId(new TextEncoder().encode('nobody has this'))
    const token = peerToken(cap, client.peerId)
    const wanted = [ids[0]!, absent, ...ids.slice(1)]
    const targets: PeerTarget[] = [server.node.multiaddrs, { peerId: server.node.peerId, multiaddrs: server.node.multiaddrs.map(a => a.replace(/\/p2p\/.*$/, '')) }]
    for (const target of targets) {
      const got = await fetchAll(client, target, token, wanted)
      assert.equal(got.map(c => c.id), wanted)
      assert.ok(got[1]!.missing)
      for (const c of got) {
        if (c.missing === true) continue
        assert.is(chunkId(c.bytes), c.id)
        assert.ok(Buffer.from(c.bytes).equals(chunks[ids.indexOf(c.id)]!))
      }
    }
    assert.is(server.server.stats.chunksServed, 12)
  } finally {
    await client.stop()
    await server.stop()
  }
})

test('peers speak Noise; a token bound to another peer id is refused, the handshake having proven who asks', async () => {
  const server = await startTestPeer(cap)
  const client = await startClientNode()
  const other = await startClientNode()
  try {
    const ids: string[] = []
    for (const c of makeChunks(3)) ids.push((await server.store.put(c)).id)
    const got = await fetchAll(client, server.node.multiaddrs, peerToken(cap, client.peerId), ids)
    assert.equal(got.map((c) => c.missing === true ? 'missing' : chunkId(c.bytes)), ids)
    assert.equal(client.libp2p.getConnections().map((c) => c.encryption), ['/noise'])
    await rejects(fetchAll(client, server.node.multiaddrs, peerToken(cap, other.peerId), ids), { code: 'ERR_PEER_REFUSED' })
  } finally {
    await client.stop()
    await other.stop()
    await server.stop()
  }
})

test('pipelined batches on one stream: many ids, repeats, in order', async () => {
  const server = await startTestPeer(cap)
  const client = await startClientNode()
  try {
    const chunks = makeChunks(40, 8 * 1024)
    const ids: string[] = []
    for (const c of chunks) ids.push((await server.store.put(c)).id)
    const wanted = Array.from({ length: 300 }, (_, i) => ids[(i * 7) % ids.length]!)
    const wire: number[] = []
    const got = await collect(fetchChunksFromPeer(client, server.node.multiaddrs, peerToken(cap, client.peerId), wanted, {
      signal: AbortSignal.timeout(BOUND_MS), onChunk: (e) => { wire.push(e.wireBytes) }
    }))
    assert.equal(got.map(c => c.id), wanted)
    for (const c of got) assert.ok(c.missing !== true && chunkId(c.bytes) === c.id)
    assert.is(wire.length, 300)
    // the compressible chunks travelled in their (smaller) stored form
    assert.ok(wire.some(n => n < 8 * 1024))
  } finally {
    await client.stop()
    await server.stop()
  }
})

test('a finished fetch lets go of its stream once the stream has closed, not after the close grace period', async () => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const server = await startTestPeer(cap)
  const client = await startClientNode()
  try {
    const ids: string[] = []
    // more answers than a stream carries ahead of its reader: the stream is still open at the first
    for (const c of makeChunks(8 * FETCH_REQUEST_CHUNKS * FETCH_REQUESTS_AHEAD, 16 * 1024)) ids.push((await server.store.put(c)).id)
    // the fetch's own streams, seen from the connection while the answers come; taken in a
    // function of its own, so that no stale register of this one keeps the last of them
    const fetchNoting = async (): Promise<Array<WeakRef<object>>> => {
      const refs: Array<WeakRef<object>> = []
      for await (const c of fetchChunksFromPeer(client, server.node.multiaddrs, peerToken(cap, client.peerId), ids, { signal: AbortSignal.timeout(BOUND_MS) })) {
        if (c.id === ids[0]) for (const conn of client.libp2p.getConnections()) for (const st of conn.streams) refs.push(new WeakRef(st))
      }
      return refs
    }
    const streams: Array<WeakRef<object>> = []
    for (let round = 0; round < 3; round++) streams.push(...await fetchNoting())
    assert.ok(streams.length >= 3)
    // a stream is collectable once it closed: well inside CHUNK_STREAM_CLOSE_GRACE_MS, which once held
    // every finished stream of a pull (~90 a second) and what it referenced
    await until(() => { gc(); return streams.every((w) => w.deref() === undefined) }, CHUNK_STREAM_CLOSE_GRACE_MS / 2, 50, 'finished streams collected')
  } finally {
    await client.stop()
    await server.stop()
  }
})

test('tokens: wrong peer id, expired, forged, wrong audience → REFUSED invalid-token', async () => {
  const server = await startTestPeer(cap)
  const client = await startClientNode()
  try {
    const [chunk] = makeChunks(1)
    const { id } = await server.store.put(chunk!)
    const other = await startClientNode()
    const forger = generateSigningKey()
    const now = Date.now()
    const cases: Array<[string, string]> = [
      ['bound to another peer id', peerToken(cap, other.peerId)],
      ['expired', peerToken(cap, client.peerId, { iat: now - 3_600_000, exp: now - 600_000 })],
      ['forged', peerToken(forger, client.peerId)],
      ['origin audience', peerToken(cap, client.peerId, { aud: 'origin' })],
      ['not a token', 'garbage.token']
    ]
    await other.stop()
    for (const [name, token] of cases) {
      const err = await rejects(fetchAll(client, server.node.multiaddrs, token, [id]), { code: 'ERR_PEER_REFUSED' })
      assert.ok(err instanceof PeerRefusedError, name)
      assert.is((err as PeerRefusedError).reason, 'invalid-token', name)
      assert.is((err as PeerRefusedError).peerFault, false, name)
    }
    assert.is(server.server.stats.refused['invalid-token'], cases.length)
    assert.is(server.server.stats.chunksServed, 0)
  } finally {
    await client.stop()
    await server.stop()
  }
})

test('canServe says no → MISSING; a damaged stored file is not served and is quarantined', async () => {
  const chunks = makeChunks(2)
  const ids = chunks.map(c => chunkId(c))
  const server = await startTestPeer(cap, {}, { canServe: (image, id) => image === 'win11' && id !== ids[0], compress: false })
  const client = await startClientNode()
  try {
    for (const c of chunks) await server.store.put(c)
    const path = server.store.pathOf(ids[1]!)
    const bytes = await readFile(path)
    bytes[100] = bytes[100]! ^ 0xff
    await writeFile(path, bytes)
    const got = await fetchAll(client, server.node.multiaddrs, peerToken(cap, client.peerId), ids)
    assert.equal(got, [{ id: ids[0], missing: true }, { id: ids[1], missing: true }])
    assert.is(server.store.has(ids[1]!), false)
    assert.ok((await readdir(join(server.dir, 'quarantine'))).length >= 1)
  } finally {
    await client.stop()
    await server.stop()
  }
})

test('upload slots: beyond the per-peer and the total count → REFUSED busy', async () => {
  for (const init of [{ uploadSlotsPerPeer: 1 }, { uploadSlotsTotal: 1 }]) {
    const server = await startTestPeer(cap, init)
    const clientA = await startClientNode()
    const clientB = init.uploadSlotsTotal === 1 ? await startClientNode() : clientA
    try {
      // enough data that the first stream is still in service while it sits unread
      const chunks = makeChunks(64, 64 * 1024)
      const ids: string[] = []
      for (const c of chunks) ids.push((await server.store.put(c)).id)
      const holder = fetchChunksFromPeer(clientA, server.node.multiaddrs, peerToken(cap, clientA.peerId), ids, { signal: AbortSignal.timeout(BOUND_MS) })
      const first = await holder.next()
      assert.is(first.done, false)
      const err = await rejects(fetchAll(clientB, server.node.multiaddrs, peerToken(cap, clientB.peerId), ids.slice(0, 1)), { code: 'ERR_PEER_REFUSED' })
      assert.is((err as PeerRefusedError).reason, 'busy')
      // the holder still gets all it asked for
      let n = 1
      for await (const c of holder) { assert.ok(c.missing !== true); n++ }
      assert.is(n, 64)
      assert.is(server.server.stats.refused.busy, 1)
    } finally {
      await clientA.stop()
      if (clientB !== clientA) await clientB.stop()
      await server.stop()
    }
  }
})

test('a serving peer stopped mid-transfer: the generator throws, it does not hang', async () => {
  // a slow uplink keeps the transfer going when the peer stops
  const server = await startTestPeer(cap, { uploadRateBytesPerSec: 512 * 1024, uploadBurstBytes: 128 * 1024 })
  const client = await startClientNode()
  try {
    const chunks = makeChunks(64, 64 * 1024)
    const ids: string[] = []
    for (const c of chunks) ids.push((await server.store.put(c)).id)
    const gen = fetchChunksFromPeer(client, server.node.multiaddrs, peerToken(cap, client.peerId), ids, { signal: AbortSignal.timeout(BOUND_MS) })
    const first = await gen.next()
    assert.is(first.done, false)
    await server.node.stop()
    let received = 1
    const err = await rejects((async () => { for await (const _ of gen) received++ })(), {})
    assert.ok(received < 64, `received ${received}`)
    assert.ok(err.code === 'ERR_PEER_UNAVAILABLE' || err.code === 'ERR_CHUNK_PROTOCOL', `code ${String(err.code)}: ${err.message}`)
  } finally {
    await client.stop()
    await server.stop()
  }
})

test('an aborted signal ends the fetch with its reason', async () => {
  const server = await startTestPeer(cap, { uploadRateBytesPerSec: 256 * 1024, uploadBurstBytes: 64 * 1024 })
  const client = await startClientNode()
  try {
    const chunks = makeChunks(16, 64 * 1024)
    const ids: string[] = []
    for (const c of chunks) ids.push((await server.store.put(c)).id)
    const ac = new AbortController()
    const gen = fetchChunksFromPeer(client, server.node.multiaddrs, peerToken(cap, client.peerId), ids, { signal: ac.signal })
    await gen.next()
    ac.abort(new Error('enough'))
    await rejects((async () => { for await (const _ of gen) { /* drain */ } })(), { message: /enough/ })
  } finally {
    await client.stop()
    await server.stop()
  }
})

test('a fetch keeps at most FETCH_REQUESTS_AHEAD requests unanswered on its stream, then goes on as answers come', async () => {
  const chunks = makeChunks(5 * FETCH_REQUEST_CHUNKS, 1024)
  const byId = new Map(chunks.map((c) => [chunkId(c), c]))
  const ids = [...byId.keys()]
  // a real peer that reads requests but answers none until released
  const server = await createPeerNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], logger: silent })
  let requests = 0
  let release: () => void = () => {}
  const released = new Promise<void>((resolve) => { release = resolve })
  await server.libp2p.handle(CHUNK_PROTOCOL, async (stream) => {
    const held: string[][] = []
    const answer = (batch: string[]): void => { stream.send(encodeAnswers(batch.map((id) => ({ id, data: byId.get(id)!, compressed: false })), true)) }
    void released.then(() => { for (const b of held.splice(0)) answer(b) })
    let open = true
    void released.then(() => { open = false })
    for await (const msg of readFrames(stream)) {
      if (msg.type !== 'request') break
      requests++
      if (open) held.push(msg.ids)
      else answer(msg.ids)
    }
    await released // held requests are answered before our side closes
    await stream.close()
  })
  await server.start()
  const client = await startClientNode()
  try {
    const fetching = fetchAll(client, server.multiaddrs, peerToken(cap, client.peerId), ids)
    fetching.catch(() => {}) // awaited below, after the checks
    for (const t0 = Date.now(); requests < FETCH_REQUESTS_AHEAD; ) {
      if (Date.now() - t0 > BOUND_MS) throw new Error(`only ${requests} requests arrived`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    // a client without the bound would have sent every request by now: on loopback they
    // arrive within microseconds, so a fifth of a second says they were held back
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.is(requests, FETCH_REQUESTS_AHEAD, 'no more requests while none is answered')
    release()
    const got = await fetching
    assert.equal(got.map((c) => c.id), ids)
    assert.is(requests, 5, 'the rest went out as answers came back')
  } finally {
    await client.stop()
    await server.stop()
  }
})

test.run()
