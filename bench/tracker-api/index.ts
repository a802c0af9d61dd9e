// Tracker API request rates: swarm announces and event ingest, measured with autocannon
// against a real `branchcast tracker` child process on its default SQLite database.
//
//   npx node bench/tracker-api/index.ts [--duration 10] [--connections 10] [--json]
//
// Set-up is written straight into the tracker's database (the same file the child uses):
// one published image version of 4096 chunks assigned to user "bench", one API token.
// Announces rotate over 200 peers in 10 sites, each with a random half of the chunks
// (a 512-byte bitfield each way); event batches hold 10 `pull.completed` events with fresh
// ids and rotate over 2000 users (one node each) so the per-user limits never answer instead.
import { randomBytes, randomUUID, createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir, cpus } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { openStore } from '../../tracker/db/index.ts'
import { mintApiToken } from '../../tracker/index.ts'
import { spawnTracker, stopTracker } from '../tracker-process.ts'

interface AutocannonRequest {
  method: string
  path: string
  headers?: Record<string, string>
  body?: string
  setupRequest?: (req: AutocannonRequest) => AutocannonRequest
}
interface AutocannonResult {
  requests: { average: number, total: number }
  latency: { p50: number, p99: number, average: number }
  non2xx: number
  errors: number
  timeouts: number
  '2xx': number
}
type Autocannon = (opts: { url: string, connections: number, duration: number, requests: AutocannonRequest[] }) => Promise<AutocannonResult>
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

const { values } = parseArgs({
  options: { duration: { type: 'string', default: '10' }, connections: { type: 'string', default: '10' }, json: { type: 'boolean' } }
})
const durationSec = Number(values.duration)
const connections = Number(values.connections)
const CHUNKS = 4096
const PEERS = 200
const SITES = 10
const EVENTS_PER_BATCH = 10
/** event batches rotate over this many users (one desk each), so no per-user limit answers instead */
const EVENT_USERS = 2000

function halfBitfield (): { have: string, haveCount: number } {
  const bits = new Uint8Array(CHUNKS / 8)
  let count = 0
  for (let i = 0; i < CHUNKS; i++) {
    if (Math.random() < 0.5) { bits[i >> 3]! |= 0x80 >> (i & 7); count++ }
  }
  return { have: Buffer.from(bits).toString('base64'), haveCount: count }
}

const dataDir = await mkdtemp(join(tmpdir(), 'branchcast-bench-api-'))
const tracker = await spawnTracker(dataDir)
try {
  const store = await openStore({ url: `sqlite:${join(dataDir, 'tracker.db')}` })
  let token: string
  let version: number
  const eventTokens: string[] = []
  try {
    const nowMs = Date.now()
    const image = await store.createImage({ name: 'bench', nowMs })
    const draft = await store.createDraft({ imageId: image.id, createdBy: 'bench', nowMs })
    const root = randomBytes(64)
    await store.finalizeDraft(draft.id, { manifestRoot: root, manifestId: createHash('sha256').update(root).digest('hex'), totalBytes: CHUNKS * 65536, chunkCount: CHUNKS, newBytes: 0 })
    version = (await store.publish(draft.id, nowMs)).number
    const policy = await store.createPolicy({ name: 'bench', imageName: 'bench', nowMs })
    await store.assign({ policyId: policy.id, subjectKind: 'user', subject: 'bench', nowMs })
    token = (await mintApiToken(store, { user: 'bench', kind: 'machine', nowMs })).token
    // events come from many desks, each its own user: limits are per user (tracker/README.md)
    for (let i = 0; i < EVENT_USERS; i++) eventTokens.push((await mintApiToken(store, { user: `desk-${i}`, kind: 'machine', nowMs })).token)
  } finally {
    await store.close()
  }
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }

  const bodies: string[] = []
  for (let i = 0; i < PEERS; i++) {
    const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    bodies.push(JSON.stringify({ image: 'bench', version, peerId, site: `site-${i % SITES}`, addrs: [`/ip4/10.0.${i % SITES}.${i % 250}/tcp/4001`], ...halfBitfield(), hostname: `pc-${i}` }))
  }
  let n = 0
  const announce = await autocannon({
    url: tracker.url,
    connections,
    duration: durationSec,
    requests: [{ method: 'POST', path: '/api/v1/swarm/announce', headers: auth, setupRequest: (req) => ({ ...req, body: bodies[n++ % PEERS] }) }]
  })

  const payload = { image: 'bench', version, bytesFromPeers: 900_000_000, bytesFromOrigin: 100_000_000, bytesFromLocal: 0, originBytesByReason: { share: 100_000_000 }, durationMs: 60_000 }
  let m = 0
  const ingest = await autocannon({
    url: tracker.url,
    connections,
    duration: durationSec,
    requests: [{
      method: 'POST',
      path: '/api/v1/events',
      headers: auth,
      setupRequest: (req) => {
        const at = Date.now()
        const events = Array.from({ length: EVENTS_PER_BATCH }, () => ({ id: randomUUID(), type: 'pull.completed', at, payload }))
        const i = m++ % EVENT_USERS
        return { ...req, headers: { ...auth, authorization: `Bearer ${eventTokens[i]}`, 'x-branchcast-client': `bench-node-${i}` }, body: JSON.stringify({ events }) }
      }
    }]
  })

  const row = (name: string, r: AutocannonResult): Record<string, number | string> => ({
    name, reqPerSec: Math.round(r.requests.average), p50Ms: r.latency.p50, p99Ms: r.latency.p99, ok: r['2xx'], non2xx: r.non2xx, errors: r.errors + r.timeouts
  })
  const rows = [row('announce', announce), { ...row('events', ingest), eventsPerSec: Math.round(ingest.requests.average * EVENTS_PER_BATCH) }]
  const meta = { node: process.version, cpus: cpus().length, durationSec, connections, chunks: CHUNKS, peers: PEERS, eventsPerBatch: EVENTS_PER_BATCH }
  if (values.json === true) {
    console.log(JSON.stringify({ meta, rows }))
  } else {
    console.log(`tracker API (${meta.node}, ${meta.cpus} cores, ${durationSec} s each, ${connections} connections, SQLite)`)
    for (const r of rows) console.log(`  ${String(r.name).padEnd(9)} ${String(r.reqPerSec).padStart(6)} req/s  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms  2xx ${r.ok}  non-2xx ${r.non2xx}  errors ${r.errors}${r.eventsPerSec === undefined ? '' : `  (${r.eventsPerSec} events/s)`}`)
  }
} finally {
  await stopTracker(tracker)
  await rm(dataDir, { recursive: true, force: true })
}
