/**
 * The serving side of the p2p bench, in its own process: a libp2p peer with a chunk server
 * and a node:http static server over the same data. The chunk server reads chunks by
 * offset from the one image file as a node serves from its images (node/image-store's
 * `places`: straight into the outgoing group, adjacent chunks in one readv, each verified
 * before it goes out); the static server serves
 * the chunk-store directory (per chunk) and the image file (one file). Driven over IPC by
 * bench/p2p/index.ts: it sends `{ ready, multiaddrs, httpPort }`, answers `cpu` with its CPU
 * seconds, and exits on `stop`.
 */
import { createServer } from 'node:http'
import { createReadStream, readFileSync } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { ChunkPlace, ChunkSource } from '../../node/peer/index.ts'
import { applyDaemonV8Flags } from '../../node/daemon/v8-flags.ts'

// the daemon's V8 settings before the node's modules load (see index.ts)
if (process.env.P2P_BENCH_V8 !== 'default') applyDaemonV8Flags()
const { generateKeyPair } = await import('@libp2p/crypto/keys')
const { createChunkStore } = await import('../../protocol/store/chunk-store.ts')
const { isChunkId } = await import('../../protocol/store/chunk-id.ts')
const { importPublicKey } = await import('../../protocol/signing/signing.ts')
const { createLogger } = await import('../../protocol/logger.ts')
const { createChunkServer, createPeerNode } = await import('../../node/peer/index.ts')
const { readAll, readvFully } = await import('../../node/image-store/positioned-io.ts')

/** The bench's chunks are all this long: chunk i of the id list lies at i × CHUNK_BYTES in the image. */
const CHUNK_BYTES = 64 * 1024

async function imageFileSource (image: string, ids: string): Promise<ChunkSource> {
  const list = readFileSync(ids, 'utf8').trim().split('\n')
  const at = new Map(list.map((id, i) => [id, i]))
  const fh = await open(image, 'r')
  return {
    async read (_image, id) {
      const i = at.get(id)
      if (i === undefined) return undefined
      const data = Buffer.allocUnsafe(CHUNK_BYTES)
      const { bytesRead } = await fh.read(data, 0, CHUNK_BYTES, i * CHUNK_BYTES)
      if (bytesRead !== CHUNK_BYTES) return undefined
      return { data, discard: async () => {} }
    },
    // as the node's image store places them: read into the outgoing group, adjacent ones at once
    places: {
      locate: async (_image, wanted) => wanted.map((id) => {
        const i = at.get(id)
        return i === undefined ? undefined : { length: CHUNK_BYTES, offset: i * CHUNK_BYTES }
      }),
      read: async (places, targets) => await readAll(
        places.map((p, i) => ({ file: fh, offset: (p as ChunkPlace & { offset: number }).offset, target: targets[i]! })),
        async (run) => { await readvFully(run.file, run.targets, run.offset) }
      ),
      discard: async () => {}
    }
  }
}

const [dir, pub, bigFile, idsFile] = process.argv.slice(2) as [string, string, string, string]
const logger = createLogger({ level: 'warn' })
const store = await createChunkStore({ dir, logger })
const node = await createPeerNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], logger })
const rate = process.env.P2P_BENCH_UPLOAD_RATE === undefined ? undefined : Number(process.env.P2P_BENCH_UPLOAD_RATE)
const server = createChunkServer({ uploadRateBytesPerSec: rate }, { node, source: await imageFileSource(bigFile, idsFile), capabilityPublicKey: importPublicKey(pub), logger })
await server.start()
await node.start()

// a plain static server, as nginx or IIS would serve the origin's chunk directory
const http = createServer((req, res) => {
  const url = req.url ?? '/'
  let path: string | undefined
  const m = /^\/chunks\/([0-9a-f]{2})\/([0-9a-f]{64})$/.exec(url)
  if (m !== null && isChunkId(m[2]) && m[2].startsWith(m[1]!)) path = join(dir, 'chunks', m[1]!, m[2])
  else if (url === '/image.raw') path = bigFile
  if (path === undefined) { res.writeHead(404).end(); return }
  const p = path
  stat(p).then((st) => {
    res.writeHead(200, { 'content-length': st.size, 'content-type': 'application/octet-stream' })
    createReadStream(p, { highWaterMark: 256 * 1024 }).pipe(res)
  }, () => { res.writeHead(404).end() })
})
http.keepAliveTimeout = 60_000
await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
const address = http.address()
const httpPort = typeof address === 'object' && address !== null ? address.port : 0

process.on('message', (msg: unknown) => {
  if (msg === 'cpu') {
    const u = process.cpuUsage()
    process.send?.({ cpuSeconds: (u.user + u.system) / 1e6, stats: server.stats })
  } else if (msg === 'stop') {
    void (async () => {
      await server.stop()
      await node.stop()
      http.closeAllConnections()
      http.close()
      process.disconnect?.()
    })()
  }
})
process.send?.({ ready: true, multiaddrs: node.multiaddrs, httpPort })
