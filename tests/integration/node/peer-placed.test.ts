// The chunk server over a source that places raw chunks in a file, as a node's images do:
// chunks read straight into the outgoing group (adjacent ones in one read), verified there,
// group buffers reused once sealed — between real libp2p nodes on loopback.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { chunkId } from '../../../protocol/store/chunk-id.ts'
import type { ChunkId } from '../../../protocol/store/chunk-id.ts'
import { createChunkServer, createPeerNode, fetchChunksFromPeer } from '../../../node/peer/index.ts'
import type { ChunkPlace, ChunkServer, ChunkSource, FetchedChunk, PeerNode } from '../../../node/peer/index.ts'
import { readAll, readvFully } from '../../../node/image-store/positioned-io.ts'
import { FETCH_REQUEST_CHUNKS, UPLOAD_WRITE_BYTES } from '../../../node/constants.ts'
import { makeCapabilityKey, peerToken, silent, startClientNode } from '../../helpers/test-peer.ts'

const cap = makeCapabilityKey()
const BOUND_MS = 20_000
const KiB = 1024

interface FilePlace extends ChunkPlace { offset: number }

/** Chunks back to back in one file, served through `places`; counts its reads and discards. */
class FileSource implements ChunkSource {
  readonly at = new Map<ChunkId, FilePlace>()
  readonly discarded: ChunkId[] = []
  readonly gone = new Set<ChunkId>()
  runs = 0
  #fh: FileHandle | undefined

  static async create (path: string, chunks: readonly Uint8Array[]): Promise<FileSource> {
    const s = new FileSource()
    let offset = 0
    for (const c of chunks) {
      s.at.set(chunkId(c), { length: c.length, offset })
      offset += c.length
    }
    await writeFile(path, Buffer.concat(chunks))
    s.#fh = await open(path, 'r')
    return s
  }

  async read (): Promise<undefined> { throw new Error('a placing source is read through places') }

  readonly places = {
    locate: async (_image: string, ids: readonly ChunkId[]) => ids.map((id) => this.at.get(id)),
    read: async (places: readonly ChunkPlace[], targets: readonly Uint8Array[]) => {
      const done = await readAll(places.map((p, i) => ({ file: this.#fh!, offset: (p as FilePlace).offset, target: targets[i]! })), async (run) => {
        this.runs++
        await readvFully(run.file, run.targets, run.offset)
      })
      // a chunk dropped between locate and read (a version pruned meanwhile)
      return done.map((ok, i) => ok && ![...this.gone].some((id) => this.at.get(id) === places[i]))
    },
    discard: async (place: ChunkPlace) => {
      for (const [id, p] of this.at) if (p === place) this.discarded.push(id)
    }
  }

  async close (): Promise<void> { await this.#fh?.close() }
}

async function serve (source: ChunkSource): Promise<{ node: PeerNode, server: ChunkServer }> {
  const node = await createPeerNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], logger: silent })
  const server = createChunkServer({}, { node, source, capabilityPublicKey: cap.publicKey, logger: silent })
  await server.start()
  await node.start()
  return { node, server }
}

async function fetchAll (client: PeerNode, from: PeerNode, ids: ChunkId[], slow = false): Promise<FetchedChunk[]> {
  const out: FetchedChunk[] = []
  for await (const c of fetchChunksFromPeer(client, from.multiaddrs, peerToken(cap, client.peerId), ids, { signal: AbortSignal.timeout(BOUND_MS) })) {
    // a reader slower than the server: its windows fill and the server's sends wait
    if (slow) await new Promise((resolve) => { setTimeout(resolve, 2) })
    // kept past the next chunk: copied (a transient fetch would reuse the buffer)
    out.push(c.missing === true ? c : { id: c.id, bytes: new Uint8Array(c.bytes) })
  }
  return out
}

test('mixed sizes to two clients with two streams each at once: every chunk intact, a read per run of chunks, group buffers reused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'branchcast-placed-'))
  // 1 KiB … 300 KiB (alone in its group), and one 400 KiB (over a pooled buffer)
  // then 64 KiB ones: four make a group over yamux's 256 KiB window, which waits in part
  // for the window to open while the next group is laid out
  const sizes = Array.from({ length: 48 }, (_, i) => i >= 24 ? 64 * KiB : [64 * KiB, 1 * KiB, 20 * KiB, 33 * KiB, 300 * KiB, 64 * KiB, 64 * KiB, 8 * KiB][i % 8]!)
  sizes[20] = 400 * KiB
  const chunks = sizes.map((n) => randomBytes(n))
  const ids = chunks.map((c) => chunkId(c))
  const source = await FileSource.create(join(dir, 'image'), chunks)
  const { node, server } = await serve(source)
  const clients = [await startClientNode(), await startClientNode()]
  try {
    const fetches = clients.flatMap((client, i) => [fetchAll(client, node, ids, i === 1), fetchAll(client, node, ids.slice(24), i === 1)])
    const got = await Promise.all(fetches)
    for (const [f, list] of got.entries()) {
      const want = f % 2 === 0 ? ids : ids.slice(24)
      assert.equal(list.map((c) => c.id), want)
      for (const c of list) {
        assert.not.ok(c.missing)
        assert.ok(Buffer.from((c as { bytes: Uint8Array }).bytes).equals(chunks[ids.indexOf(c.id)]!))
      }
    }
    const served = 2 * (48 + 24)
    assert.is(server.stats.chunksServed, served)
    assert.is(server.stats.bytesServed, 2 * (sizes.reduce((a, b) => a + b) + sizes.slice(24).reduce((a, b) => a + b)))
    // each request's chunks go out in groups of ≤ UPLOAD_WRITE_BYTES (a larger chunk
    // alone), and a group's chunks, adjacent in the file, are one read
    const groups = (list: number[]): number => {
      let n = 0
      for (let r = 0; r < list.length; r += FETCH_REQUEST_CHUNKS) {
        let bytes = 0
        for (const [i, b] of list.slice(r, r + FETCH_REQUEST_CHUNKS).entries()) {
          if (i === 0 || bytes + b > UPLOAD_WRITE_BYTES) { n++; bytes = 0 }
          bytes += b
        }
      }
      return n
    }
    assert.is(source.runs, 2 * (groups(sizes) + groups(sizes.slice(24))))
    assert.ok(source.runs < served / 2, `${source.runs} reads for ${served} chunks`)
    // the groups that fit a pooled buffer went back once sealed
    const { lent, returned } = node.sendBuffers.stats
    assert.ok(lent >= source.runs - 4, `${lent} lent for ${source.runs} reads`)
    assert.ok(returned >= lent - 4, `${returned} of ${lent} pooled buffers came back`)
  } finally {
    for (const c of clients) await c.stop()
    await server.stop()
    await node.stop()
    await source.close()
    await rm(dir, { recursive: true, force: true })
  }
})

test('a chunk damaged in the file and one gone since it was located go out as MISSING; the rest of their group is intact', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'branchcast-placed-'))
  const chunks = Array.from({ length: 5 }, () => randomBytes(10 * KiB))
  const ids = chunks.map((c) => chunkId(c))
  const path = join(dir, 'image')
  const source = await FileSource.create(path, chunks)
  // the second chunk's bytes change on disk under the server
  const fh = await open(path, 'r+')
  await fh.write(Buffer.of(chunks[1]![77]! ^ 0xff), 0, 1, 10 * KiB + 77)
  await fh.close()
  source.gone.add(ids[3]!)
  const { node, server } = await serve(source)
  const client = await startClientNode()
  try {
    const got = await fetchAll(client, node, ids)
    assert.equal(got.map((c) => c.missing === true ? 'missing' : Buffer.from(c.bytes).equals(chunks[ids.indexOf(c.id)]!)), [true, 'missing', true, 'missing', true])
    assert.equal(source.discarded, [ids[1]])
    assert.is(server.stats.chunksServed, 3)
    assert.is(source.runs, 1)
  } finally {
    await client.stop()
    await server.stop()
    await node.stop()
    await source.close()
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
