// Issue 11, findings 2 and 3: slow bodies, too many connections and oversized headers
// against a real tracker process. Memory stays within 2 × idle RSS, /healthz answers from
// another address with p99 ≤ 250 ms, every slow body is cut at its deadline, one address
// cannot open more than its share, and 15 KiB headers are refused before the app sees them.
// SEC_SLOW_N sets the number of slow connections (default 300; docs/security.md: 2000).
import { readFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { BODY_DEADLINE_MS, CONNECTIONS_CHECK_INTERVAL_MS, MAX_CONNECTIONS_PER_ADDRESS } from '../../tracker/constants.ts'
import { healthzLatencyMs, percentile, rssBytes, slowFlood, until } from '../helpers/abuse.ts'
import { spawnTracker, stopTracker } from '../helpers/tracker-process.ts'
import type { TrackerProcess } from '../helpers/tracker-process.ts'
import { makeTmpDir } from '../helpers/tmp-dir.ts'
import { rm } from 'node:fs/promises'

const N = Number(process.env.SEC_SLOW_N ?? 300)
let dir: string
let tracker: TrackerProcess
let token: string
let url: URL

test.before(async () => {
  dir = await makeTmpDir('branchcast-sec-slow-')
  tracker = await spawnTracker(dir)
  url = new URL(tracker.url)
  token = (await readFile(join(dir, 'initial-admin-token'), 'utf8')).trim()
})
test.after(async () => {
  await stopTracker(tracker)
  await rm(dir, { recursive: true, force: true })
})

const announceHead = (): string => [
  'POST /api/v1/swarm/announce HTTP/1.1',
  `host: ${url.host}`,
  `authorization: Bearer ${token}`,
  'content-type: application/json',
  'content-length: 1000000'
].join('\r\n')

test(`${N} slow bodies: all cut by the body deadline, RSS ≤ 2 × idle, /healthz p99 ≤ 250 ms`, async () => {
  const pid = tracker.child.pid!
  // warm up the paths the flood uses, then take the idle RSS
  for (let i = 0; i < 20; i++) await healthzLatencyMs(tracker.url)
  const idle = await rssBytes(pid)
  // spread over 8 client addresses so the per-address cap is not what stops them
  const addrs = Array.from({ length: 8 }, (_, i) => `127.0.0.${10 + i}`)
  const flood = await slowFlood({ host: url.hostname, port: Number(url.port), count: N, head: announceHead(), pieceBytes: Number(process.env.SEC_SLOW_PIECE ?? 2048), everyMs: 250, localAddresses: addrs })
  const latencies: number[] = []
  let peak = idle
  try {
    const cutBy = BODY_DEADLINE_MS + 2 * CONNECTIONS_CHECK_INTERVAL_MS + 3_000
    await until(async () => {
      latencies.push(await healthzLatencyMs(tracker.url))
      peak = Math.max(peak, await rssBytes(pid))
      return flood.closedCount() === N
    }, cutBy, 50)
  } finally {
    flood.close()
  }
  const p99 = percentile(latencies, 99)
  const mb = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`
  console.log(`  slow bodies: N=${N} idle ${mb(idle)} peak ${mb(peak)} healthz p99 ${p99.toFixed(1)} ms over ${latencies.length} probes`)
  assert.ok(peak <= 2 * idle, `peak RSS ${mb(peak)} > 2 × idle ${mb(idle)}`)
  assert.ok(p99 <= 250, `healthz p99 ${p99} ms`)
})

test(`one address holds at most ${MAX_CONNECTIONS_PER_ADDRESS} connections; others still get in`, async () => {
  const count = MAX_CONNECTIONS_PER_ADDRESS + 40
  const flood = await slowFlood({ host: url.hostname, port: Number(url.port), count, head: announceHead(), pieceBytes: 1, everyMs: 1000, localAddresses: ['127.0.0.3'] })
  try {
    await until(() => flood.closedCount() >= 40, 5_000, 20)
    assert.is(flood.closedCount(), 40, 'exactly the connections over the cap are closed at once')
    assert.ok(await healthzLatencyMs(tracker.url, '127.0.0.4') < 1_000, 'another address is served')
  } finally {
    flood.close()
  }
})

test('a 15 KiB header is refused with 431 before the app reads it', async () => {
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(`${tracker.url}/api/v1/events`, {
      method: 'POST',
      agent: false,
      headers: { authorization: `Bearer ${token}`, 'x-branchcast-client': 'x'.repeat(15 * 1024), 'content-type': 'application/json' }
    }, (res) => { res.resume(); resolve(res.statusCode ?? 0) })
    req.once('error', reject)
    req.end('{"events":[]}')
  })
  assert.is(status, 431)
})

test.run()
