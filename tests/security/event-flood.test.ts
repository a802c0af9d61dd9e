// Issue 11: an event flood from one user token, through HTTP only (the limiter and quotas
// are the events service's): while 32 connections post full batches as fast as the tracker
// answers — each with its own client header, as the attack in finding 1 did — its RSS stays
// within 2 × idle and /healthz answers from another address with p99 ≤ 250 ms.
// SEC_FLOOD_MS sets the flood's length (default 8 s).
// /healthz is probed from a worker thread, so its latency is the tracker's and not this
// process's, which is busy sending ~800 KB bodies as fast as they are answered.
// Before the per-user limits (finding 1): 125 batches of 500 events accepted in 8 s, RSS
// 144 → 472 MiB, /healthz timing out behind synchronous inserts.
import { randomUUID } from 'node:crypto'
import { readFile, rm } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { healthzLatencyMs, percentile, rssBytes } from '../helpers/abuse.ts'
import { startHealthzProber } from '../helpers/healthz-prober.ts'
import { makeTmpDir } from '../helpers/tmp-dir.ts'
import { spawnTracker, stopTracker } from '../helpers/tracker-process.ts'
import type { TrackerProcess } from '../helpers/tracker-process.ts'
import { call } from '../helpers/tracker-swarm.ts'

const FLOOD_MS = Number(process.env.SEC_FLOOD_MS ?? 8_000)
const POSTERS = 32
let dir: string
let tracker: TrackerProcess

test.before(async () => {
  dir = await makeTmpDir('branchcast-sec-flood-')
  tracker = await spawnTracker(dir)
})
test.after(async () => {
  await stopTracker(tracker)
  await rm(dir, { recursive: true, force: true })
})

test(`event flood from one token for ${FLOOD_MS} ms: RSS ≤ 2 × idle, /healthz p99 ≤ 250 ms`, async () => {
  const admin = (await readFile(join(dir, 'initial-admin-token'), 'utf8')).trim()
  const minted = await call(tracker.url, 'POST', '/api/v1/tokens', { token: admin, json: { user: 'flooder' } })
  assert.is(minted.status, 201, JSON.stringify(minted.body))
  const token = minted.body.token as string
  const pid = tracker.child.pid!
  for (let i = 0; i < 20; i++) await healthzLatencyMs(tracker.url)
  const idle = await rssBytes(pid)
  // 500 events of ~1.5 KB, built by joining strings: the flood is the tracker's load, not ours
  const eventTail = `","type":"session.started","at":${Date.now()},"payload":${JSON.stringify({ image: 'win', note: 'x'.repeat(1500) })}}`
  const batch = (): Uint8Array => Buffer.from(`{"events":[${Array.from({ length: 500 }, () => `{"id":"${randomUUID()}${eventTail}`).join(',')}]}`)
  const statuses = new Map<number, number>()
  const end = performance.now() + FLOOD_MS
  // Each poster builds a new batch only once its last one was stored: a refused body was never
  // read, so sending the same bytes again costs the tracker the same. The body goes out in
  // 64 KiB writes and stops once the answer is in, as HTTP clients do on an early response
  // (fetch instead copied each ~800 KB body twice and wrote all of it into a socket the tracker
  // had closed): on this 2-core machine an attacker burning a core measured the harness, not
  // the tracker.
  const post = (body: Uint8Array): Promise<number> => new Promise((resolve) => {
    let answered = false
    const req = request(`${tracker.url}/api/v1/events`, {
      method: 'POST',
      agent: false,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': body.byteLength, 'x-branchcast-client': `flood-${randomUUID()}` }
    }, (res) => {
      answered = true
      res.resume()
      res.once('end', () => resolve(res.statusCode ?? 0))
      res.once('error', () => resolve(res.statusCode ?? 0))
    })
    req.once('error', () => { answered = true; resolve(0) })
    req.once('close', () => { answered = true })
    const send = (at: number): void => {
      while (!answered && at < body.byteLength) {
        const piece = body.subarray(at, at + 65_536)
        at += piece.byteLength
        if (at >= body.byteLength) { req.end(piece); return }
        if (!req.write(piece)) { req.once('drain', () => send(at)); return }
      }
    }
    send(0)
  })
  const poster = async (): Promise<void> => {
    let body = batch()
    while (performance.now() < end) {
      const s = await post(body)
      statuses.set(s, (statuses.get(s) ?? 0) + 1)
      if (s >= 200 && s < 300) body = batch()
    }
  }
  let peak = idle
  const prober = startHealthzProber(tracker.url)
  const sampling = (async () => {
    while (performance.now() < end) {
      peak = Math.max(peak, await rssBytes(pid))
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })()
  await Promise.all([...Array.from({ length: POSTERS }, poster), sampling])
  const latencies = await prober.stop()
  const p99 = percentile(latencies, 99)
  const mb = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`
  console.log(`  event flood: ${FLOOD_MS} ms, statuses ${JSON.stringify(Object.fromEntries(statuses))}, idle ${mb(idle)} peak ${mb(peak)}, healthz p99 ${p99.toFixed(1)} ms over ${latencies.length} probes`)
  assert.ok(peak <= 2 * idle, `peak RSS ${mb(peak)} > 2 × idle ${mb(idle)}`)
  assert.ok(p99 <= 250, `healthz p99 ${p99} ms`)
})

test.run()
