/**
 * Peer-to-peer throughput bench: two processes on this machine — a serving node (libp2p
 * chunk server + a node:http static server over the same chunk-store directory) and a
 * fetching node — move the same ≥ 256 MiB of 64 KiB chunks, in one run:
 *
 * - p2p: `fetchChunksFromPeer` over TCP + Noise + yamux (what two nodes negotiate), every
 *   chunk verified on both sides (the server reads it by offset from the image file, as a
 *   node serves from its images, and checks it before it serves; the client checks it
 *   against the id it asked for);
 * - HTTP per chunk: GET /chunks/xx/<id> from the static server, keep-alive, N in flight,
 *   each chunk verified (how a node uses a plain origin);
 * - HTTP one file: one GET of the same bytes as a single file, SHA-256 over the stream.
 *
 * Prints a Markdown report and writes it into the "Peer-to-peer throughput" section of
 * bench/RESULTS.md.
 *
 *   npm run bench -- p2p                 (or: npx node bench/p2p/index.ts)
 *   P2P_BENCH_MIB=512 P2P_BENCH_ROUNDS=3 npm run bench -- p2p
 *   P2P_BENCH_ONLY='^p2p, 2' (a regex on runner names): those runners only, no report (profiling)
 *   P2P_BENCH_NO_WRITE=1: print the report without writing RESULTS.md
 *   P2P_BENCH_V8=default: V8's default heap settings instead of the daemon's (index.ts)
 */
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync, createWriteStream, rmSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { Agent, request } from 'node:http'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { chunkId, chunkPath } from '../../protocol/store/chunk-id.ts'
import { decodeStoredChunk } from '../../protocol/store/chunk-codec.ts'
import { signCapability } from '../../protocol/signing/capability.ts'
import { exportPublicKey, generateSigningKey } from '../../protocol/signing/signing.ts'
import { createLogger } from '../../protocol/logger.ts'
import { createPeerNode, fetchChunksFromPeer } from '../../node/peer/index.ts'
import { MAX_IDS_PER_FETCH } from '../../node/constants.ts'
import { DAEMON_V8_FLAGS } from '../../node/daemon/v8-flags.ts'

const WORK = fileURLToPath(new URL('../.work/p2p/', import.meta.url))
const RESULTS = fileURLToPath(new URL('../RESULTS.md', import.meta.url))
const MIB = Number(process.env.P2P_BENCH_MIB ?? 256)
const ROUNDS = Number(process.env.P2P_BENCH_ROUNDS ?? 3)
const CHUNK_BYTES = 64 * 1024
const COUNT = Math.ceil(MIB * 1024 * 1024 / CHUNK_BYTES)
const TOTAL_BYTES = COUNT * CHUNK_BYTES
const HTTP_INFLIGHT = 16
const SECTION = 'Peer-to-peer throughput'

// ---- the data: random (incompressible) chunks written as a chunk store + one flat file ----

function prepare (): string[] {
  const storeDir = `${WORK}store`
  const listPath = `${WORK}ids-${COUNT}.txt`
  if (existsSync(listPath)) return readFileSync(listPath, 'utf8').trim().split('\n')
  rmSync(WORK, { recursive: true, force: true })
  mkdirSync(WORK, { recursive: true })
  const ids: string[] = []
  const flat = createWriteStream(`${WORK}image.raw`)
  for (let i = 0; i < COUNT; i++) {
    const bytes = randomBytes(CHUNK_BYTES)
    const id = chunkId(bytes)
    const path = `${storeDir}/${chunkPath(id)}`
    mkdirSync(path.slice(0, path.lastIndexOf('/')), { recursive: true })
    writeFileSync(path, bytes)
    flat.write(bytes)
    ids.push(id)
  }
  flat.end()
  writeFileSync(listPath, ids.join('\n') + '\n')
  return ids
}

// ---- one interface, a runner per system --------------------------------------------------

interface Ctx { ids: string[], multiaddrs: string[], httpPort: number }
interface Runner {
  name: string
  note: string
  run: (ctx: Ctx) => Promise<number> // bytes verified
}

type PeerNode = Awaited<ReturnType<typeof createPeerNode>>

function makeRunners (client: PeerNode, noiseClient: PeerNode, token: string, noiseToken: string): Runner[] {
  const p2p = (streams: number, noise = false): Runner => ({
    name: `p2p${noise ? ', second client' : ''}, ${streams} stream${streams === 1 ? '' : 's'}`,
    note: noise
      ? 'the same from a second client node: the spread between two identical clients in one run'
      : `fetchChunksFromPeer: ids pipelined as ${MAX_IDS_PER_FETCH}-id calls${streams > 1 ? `, ${streams} streams in parallel, each an equal share` : ''}`,
    async run ({ ids, multiaddrs }) {
      const node = noise ? noiseClient : client
      const tok = noise ? noiseToken : token
      let bytes = 0
      // each stream takes an equal share, fetched as pipelined calls of up to MAX_IDS_PER_FETCH ids
      const share = Math.ceil(ids.length / streams)
      await Promise.all(Array.from({ length: streams }, async (_, s) => {
        const mine = ids.slice(s * share, (s + 1) * share)
        for (let i = 0; i < mine.length; i += MAX_IDS_PER_FETCH) {
          // transient, as a pulling node asks (its image store copies each chunk at once)
          for await (const c of fetchChunksFromPeer(node, multiaddrs, tok, mine.slice(i, i + MAX_IDS_PER_FETCH), { transient: true })) {
            if (c.missing === true) throw new Error(`peer lacks ${c.id}`)
            bytes += c.bytes.byteLength
          }
        }
      }))
      return bytes
    }
  })
  const agent = new Agent({ keepAlive: true, maxSockets: HTTP_INFLIGHT })
  const get = async (port: number, path: string, onData: (b: Buffer) => void): Promise<void> => {
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
        if (res.statusCode !== 200) { reject(new Error(`HTTP ${String(res.statusCode)} for ${path}`)); res.resume(); return }
        res.on('data', onData)
        res.on('end', resolve)
        res.on('error', reject)
      })
      req.on('error', reject)
      req.end()
    })
  }
  return [
    p2p(1),
    p2p(2),
    p2p(2, true),
    {
      name: 'HTTP, per chunk',
      note: `node:http GET /chunks/xx/<id>, keep-alive, ${HTTP_INFLIGHT} in flight, each chunk decoded and SHA-256 checked`,
      async run ({ ids, httpPort }) {
        let bytes = 0
        let next = 0
        await Promise.all(Array.from({ length: HTTP_INFLIGHT }, async () => {
          while (next < ids.length) {
            const id = ids[next++]!
            const parts: Buffer[] = []
            await get(httpPort, `/${chunkPath(id)}`, (b) => parts.push(b))
            bytes += decodeStoredChunk(id, Buffer.concat(parts)).byteLength
          }
        }))
        return bytes
      }
    },
    {
      name: 'HTTP, one file',
      note: 'node:http GET of the same bytes as one file, SHA-256 over the stream',
      async run ({ httpPort }) {
        let bytes = 0
        const h = createHash('sha256')
        await get(httpPort, '/image.raw', (b) => { bytes += b.byteLength; h.update(b) })
        h.digest()
        return bytes
      }
    }
  ]
}

// ---- the run -----------------------------------------------------------------------------

function ask<T> (child: ChildProcess, msg: string): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (m) => { resolve(m as T) })
    child.send(msg)
  })
}

const t0 = performance.now()
const ids = prepare()
const capability = generateSigningKey()
const child = fork(fileURLToPath(new URL('./serve.ts', import.meta.url)), [`${WORK}store`, exportPublicKey(capability.publicKey), `${WORK}image.raw`, `${WORK}ids-${COUNT}.txt`], { execPath: process.execPath, stdio: 'inherit' })
const ready = await new Promise<{ multiaddrs: string[], httpPort: number }>((resolve, reject) => {
  child.once('message', (m) => { resolve(m as { multiaddrs: string[], httpPort: number }) })
  child.once('exit', (code) => { reject(new Error(`server exited ${String(code)}`)) })
})
const client = await createPeerNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], logger: createLogger({ level: 'warn' }) })
await client.start()
const noiseClient = await createPeerNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], logger: createLogger({ level: 'warn' }) })
await noiseClient.start()
const now = Date.now()
const tokenFor = (peerId: string): string => signCapability({ aud: 'peer', sub: peerId, img: 'bench', iat: now, exp: now + 3_600_000 }, capability.privateKey)
const only = process.env.P2P_BENCH_ONLY // a regex on runner names, for profiling one path
const runners = makeRunners(client, noiseClient, tokenFor(client.peerId), tokenFor(noiseClient.peerId)).filter((r) => only === undefined || new RegExp(only).test(r.name))
const ctx: Ctx = { ids, multiaddrs: ready.multiaddrs, httpPort: ready.httpPort }

interface Row { name: string, note: string, mbps: number[], clientCpu: number[], serverCpu: number[] }
const rows: Row[] = runners.map(r => ({ name: r.name, note: r.note, mbps: [], clientCpu: [], serverCpu: [] }))
const load0 = loadavg()[0]!
let encryption = ''
let noiseEncryption = ''
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, r] of runners.entries()) {
      const s0 = (await ask<{ cpuSeconds: number }>(child, 'cpu')).cpuSeconds
      const c0 = process.cpuUsage()
      const start = performance.now()
      const bytes = await r.run(ctx)
      const secs = (performance.now() - start) / 1000
      const c = process.cpuUsage(c0)
      const s1 = (await ask<{ cpuSeconds: number }>(child, 'cpu')).cpuSeconds
      if (bytes !== TOTAL_BYTES) throw new Error(`${r.name}: ${bytes} of ${TOTAL_BYTES} bytes`)
      rows[i]!.mbps.push(bytes / 1e6 / secs)
      rows[i]!.clientCpu.push((c.user + c.system) / 1e6)
      rows[i]!.serverCpu.push(s1 - s0)
      process.stderr.write(`round ${round + 1} ${r.name}: ${(bytes / 1e6 / secs).toFixed(0)} MB/s\n`)
    }
  }
} finally {
  encryption = [...new Set(client.libp2p.getConnections().map((c) => c.encryption))].join(', ')
  noiseEncryption = [...new Set(noiseClient.libp2p.getConnections().map((c) => c.encryption))].join(', ')
  await client.stop()
  await noiseClient.stop()
  child.send('stop')
}
const load1 = loadavg()[0]!
if (only !== undefined) {
  // a partial run (profiling): the rows measured, no report
  for (const r of rows) process.stdout.write(`${r.name}: MB/s ${r.mbps.map((x) => x.toFixed(0)).join(' / ')}; CPU s client / server ${r.clientCpu.map((c, i) => `${c.toFixed(2)} / ${r.serverCpu[i]!.toFixed(2)}`).join(', ')}\n`)
  process.exit(0)
}

const best = (xs: number[]): number => Math.max(...xs)
const fmt = (xs: number[]): string => xs.map(x => x.toFixed(0)).join(' / ')
const byName = (n: string): Row => rows.find(r => r.name === n)!
const p2pBest = Math.max(best(byName('p2p, 1 stream').mbps), best(byName('p2p, 2 streams').mbps))
const httpChunkBest = best(byName('HTTP, per chunk').mbps)
const httpFileBest = best(byName('HTTP, one file').mbps)
const sameRound = byName('HTTP, one file').mbps.map((h, i) => Math.max(byName('p2p, 1 stream').mbps[i]!, byName('p2p, 2 streams').mbps[i]!) / h)
const noiseRound = byName('HTTP, one file').mbps.map((h, i) => byName('p2p, second client, 2 streams').mbps[i]! / h)
const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2 }
const lines = [
  `## ${SECTION}`,
  '',
  `Two processes on one machine (${cpus().length} cores, Node ${process.versions.node}), loopback: a serving node and a`,
  `fetching node move ${MIB} MiB as ${COUNT} random 64 KiB chunks, ${ROUNDS} rounds, best and each round in MB/s.`,
  `Load average ${load0.toFixed(1)} at the start, ${load1.toFixed(1)} at the end${load0 > cpus().length ? ' — **the machine was loaded by other jobs: read these as lower bounds**' : ''}.`,
  'CPU is seconds per round (client / server process).',
  process.env.P2P_BENCH_V8 === 'default'
    ? 'Both processes ran with V8\'s default heap settings (`P2P_BENCH_V8=default`).'
    : `Both processes ran with the node daemon's V8 settings (\`${DAEMON_V8_FLAGS.join(' ')}\`, node/daemon/v8-flags.ts).`,
  '',
  'Command: `npm run bench -- p2p` (`P2P_BENCH_MIB`, `P2P_BENCH_ROUNDS` to change size and rounds).',
  '',
  '| system | best MB/s | rounds | CPU s client / server | how |',
  '| --- | --- | --- | --- | --- |',
  ...rows.map(r => `| ${r.name} | **${best(r.mbps).toFixed(0)}** | ${fmt(r.mbps)} | ${r.clientCpu.map((c, i) => `${c.toFixed(1)} / ${r.serverCpu[i]!.toFixed(1)}`).join(', ')} | ${r.note} |`),
  '',
  `- p2p / HTTP per chunk: **${(p2pBest / httpChunkBest).toFixed(2)}×**; p2p / HTTP one file: **${(p2pBest / httpFileBest).toFixed(2)}×** (aim ≥ 0.5×), best against best.`,
  `- Same round (load moves between rounds), p2p (better of 1 and 2 streams) / HTTP one file: ${sameRound.map(x => `${x.toFixed(2)}×`).join(', ')} (median **${median(sameRound).toFixed(2)}×**);`,
  `  second client (${noiseEncryption}), 2 streams: ${noiseRound.map(x => `${x.toFixed(2)}×`).join(', ')} (median ${median(noiseRound).toFixed(2)}×).`,
  `- Every p2p byte is hashed twice (the server checks a chunk before serving it, the client`,
  `  against the id it asked for) and encrypted once (${encryption}); HTTP here is plain text on`,
  '  loopback, verified once on the client.'
]
const section = lines.join('\n') + '\n'
process.stdout.write(section)
if (process.env.P2P_BENCH_NO_WRITE === undefined) writeSection(section)
process.stderr.write(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s; written to ${RESULTS}\n`)

/** Replace (or add) our section of bench/RESULTS.md, leaving other sections and "### … notes" alone. */
function writeSection (text: string): void {
  const current = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : '# Benchmark results\n'
  const start = current.indexOf(`\n## ${SECTION}\n`)
  let next: string
  if (start < 0) {
    next = current.replace(/\n*$/, '\n\n') + text
  } else {
    const after = current.indexOf('\n## ', start + 1)
    const tail = after < 0 ? '' : current.slice(after)
    const notesAt = current.indexOf(`\n### ${SECTION} notes`, start)
    const notes = notesAt >= 0 && (after < 0 || notesAt < after) ? current.slice(notesAt, after < 0 ? undefined : after).replace(/\n+$/, '') + '\n' : ''
    next = current.slice(0, start + 1) + text + (notes === '' ? '' : '\n' + notes) + tail
  }
  writeFileSync(RESULTS, next)
}
