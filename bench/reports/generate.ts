/**
 * One million events (100 sites, 5,000 clients, 30 days) written straight into a tracker
 * database: the store opens (and migrates) the file, then one prepared INSERT per table
 * runs in large transactions with `synchronous = OFF`. The offload rollup, the clients
 * registry and the held images are filled as ingest would have filled them.
 */
import { randomBytes, createHash } from 'node:crypto'
import { DatabaseSync } from 'node:sqlite'
import { openStore } from '../../tracker/db/index.ts'

export interface GenerateOptions {
  path: string
  events: number
  sites: number
  clients: number
  days: number
  /** the end of the generated period */
  endMs: number
}

const DAY = 86_400_000
/** type, share of events (the rest are extension heartbeats) */
const MIX: Array<[string, number]> = [['session.started', 0.25], ['session.stopped', 0.25], ['pull.completed', 0.2], ['pull.failed', 0.03], ['peer.banned', 0.01], ['policy.blocked', 0.02], ['acme.sync.failed', 0.01]]

export async function generate (o: GenerateOptions): Promise<{ seconds: number }> {
  const started = performance.now()
  const store = await openStore({ url: `sqlite:${o.path}` })
  const image = await store.createImage({ name: 'win11', nowMs: o.endMs - 60 * DAY })
  for (let v = 1; v <= 3; v++) {
    const d = await store.createDraft({ imageId: image.id, createdBy: 'bench', nowMs: o.endMs - (40 - v * 10) * DAY })
    const root = randomBytes(64)
    await store.finalizeDraft(d.id, { manifestRoot: root, manifestId: createHash('sha256').update(root).digest('hex'), totalBytes: 1, chunkCount: 1, newBytes: 0 })
    await store.publish(d.id, o.endMs - (40 - v * 10) * DAY)
  }
  await store.close()

  const db = new DatabaseSync(o.path)
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144')
  const startMs = o.endMs - o.days * DAY
  const site = (c: number): string => `site-${String(c % o.sites).padStart(3, '0')}`
  const user = (c: number): string => `user-${c}`
  const host = (c: number): string => `pc-${String(c).padStart(5, '0')}`
  const addClient = db.prepare('INSERT INTO clients (id, user, hostname, site, agent_version, os, last_seen_at, online_since, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
  const addHeld = db.prepare('INSERT INTO client_images (client_id, image, version, held_since, policy, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
  db.exec('BEGIN')
  for (let c = 0; c < o.clients; c++) {
    const seen = o.endMs - (c % 97) * 60_000
    addClient.run(`peer-${c}`, user(c), host(c), site(c), '0.1.0', 'Linux 6.1 x64', seen, seen - 3_600_000, startMs)
    addHeld.run(`peer-${c}`, 'win11', c % 10 === 0 ? 2 : 3, startMs + (c % o.days) * DAY, 'standard', seen)
  }
  db.exec('COMMIT')

  const addEvent = db.prepare('INSERT INTO events (id, client_id, user, type, at, received_at, site, host, image, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
  const rollup = new Map<string, number[]>()
  const cumulative: Array<[string, number]> = []
  let acc = 0
  for (const [type, share] of MIX) cumulative.push([type, acc += share])
  const stepMs = (o.days * DAY) / o.events
  const prefix = randomBytes(4).toString('hex')
  db.exec('BEGIN')
  for (let i = 0; i < o.events; i++) {
    if (i % 100_000 === 0 && i > 0) { db.exec('COMMIT'); db.exec('BEGIN') }
    const c = (i * 7919) % o.clients
    const at = Math.floor(startMs + i * stepMs)
    const r = ((i * 2654435761) >>> 0) / 2 ** 32
    const type = cumulative.find(([, upTo]) => r < upTo)?.[0] ?? 'acme.heartbeat.ok'
    let payload: string
    if (type === 'pull.completed') {
      const origin = 1_000_000 + (i % 1000) * 1000
      const peers = 9_000_000
      payload = `{"image":"win11","version":3,"bytesFromOrigin":${origin},"bytesFromPeers":${peers},"bytesFromLocal":500000,"originBytesByReason":{"share":${origin}},"durationMs":60000}`
      const key = `${Math.floor(at / DAY) * DAY}\n${site(c)}`
      const sum = rollup.get(key) ?? [0, 0, 0, 0]
      sum[0]!++; sum[1]! += origin; sum[2]! += peers; sum[3]! += 500_000
      rollup.set(key, sum)
    } else if (type === 'pull.failed') {
      payload = '{"image":"win11","version":3,"code":"ERR_TIMEOUT","message":"origin timed out"}'
    } else if (type === 'peer.banned') {
      payload = '{"peerId":"QmBadPeer","reason":"corrupt-chunk"}'
    } else if (type === 'policy.blocked') {
      payload = '{"image":"win11","rule":"download-window"}'
    } else if (type.startsWith('session.')) {
      payload = '{"image":"win11","version":3}'
    } else {
      payload = '{"message":"disk full"}'
    }
    const id = `${prefix}${i.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`
    addEvent.run(id, `peer-${c}`, user(c), type, at, at + 2000, site(c), host(c), type.startsWith('acme.') || type === 'peer.banned' ? '' : 'win11', payload)
  }
  db.exec('COMMIT')
  const addDay = db.prepare('INSERT INTO offload_daily (day, site, image, pulls, origin_bytes, peer_bytes, local_bytes, decoded_origin_bytes, decoded_peer_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
  const addReason = db.prepare('INSERT INTO offload_reasons (day, site, image, reason, bytes) VALUES (?, ?, ?, ?, ?)')
  db.exec('BEGIN')
  for (const [key, [pulls, origin, peers, local]] of rollup) {
    const [day, s] = key.split('\n') as [string, string]
    addDay.run(Number(day), s, 'win11', pulls!, origin!, peers!, local!, origin!, peers!)
    addReason.run(Number(day), s, 'win11', 'share', origin!)
  }
  db.exec('COMMIT')
  db.exec('PRAGMA wal_checkpoint(TRUNCATE); ANALYZE')
  db.close()
  return { seconds: (performance.now() - started) / 1000 }
}
