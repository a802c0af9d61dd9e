import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { rm, stat } from 'node:fs/promises'
import { createLogger } from '../../../protocol/logger.ts'
import { loadNodeConfig } from '../../../node/config.ts'
import { startNode } from '../../../node/daemon/index.ts'
import type { RunningNode } from '../../../node/daemon/index.ts'
import { createControlClient, readControlFile, controlFilePath } from '../../../node/control/index.ts'
import { loadTrust } from '../../../node/trust.ts'
import { startTestTracker } from '../../helpers/tracker.ts'
import { publishAndAssign, sampleImage } from '../../helpers/swarm.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'

async function call (url: string, method: string, path: string, opts: { token: string }): Promise<{ status: number, body: any }> {
  const res = await fetch(url + path, { method, headers: { authorization: `Bearer ${opts.token}` } })
  return { status: res.status, body: await res.json() }
}
import { rejects } from '../../helpers/rejects.ts'

const logger = createLogger({ level: 'silent' })
const IMAGE_BYTES = 3 * 1024 * 1024

function configFor (dataDir: string, tracker: string, token: string | undefined, site = 'branch-a') {
  // pulls typed by hand are what these tests measure: no automatic delivery beside them
  return loadNodeConfig({ flags: { dataDir, tracker, token, site, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, autoDeliver: false }, env: {} })
}

test('two daemons: enroll on first start, pull over the control API, peers carry bytes, events reach the tracker', async () => {
  const tt = await startTestTracker()
  const dirs: string[] = []
  const nodes: RunningNode[] = []
  try {
    const ws = await publishAndAssign(tt, { bytes: sampleImage(IMAGE_BYTES, 5) })
    for (let i = 0; i < 2; i++) {
      const dir = await makeTmpDir('branchcast-daemon-')
      dirs.push(dir)
      nodes.push(await startNode({ config: configFor(dir, tt.url, ws.userToken), logger, eventRetryMinMs: 50 }))
    }
    for (const dir of dirs) assert.ok(await loadTrust(dir) !== undefined, 'keys pinned at first start')

    const first = createControlClient(await readControlFile(dirs[0]!))
    const phases = new Set<string>()
    const r1 = await first.pull(ws.image, { onProgress: (p) => phases.add(p.phase) })
    assert.is(r1.sha256, ws.sha256)
    assert.ok(phases.has('ready'), [...phases].join(','))
    const r2 = await createControlClient(await readControlFile(dirs[1]!)).pull(ws.image)
    assert.is(r2.sha256, ws.sha256)
    assert.ok(r2.bytesFromPeers > 0, `second node took ${r2.bytesFromPeers} bytes from peers`)

    assert.equal((await first.images()).map((i) => [i.image, i.version, i.sizeBytes]), [[ws.image, ws.version, IMAGE_BYTES]])
    const s0 = await first.status()
    assert.is(s0.peerId, nodes[0]!.peerId)
    assert.is(s0.site, 'branch-a')
    assert.ok(s0.serving.bytesServed > 0, 'the first node served the second')
    assert.ok(s0.cache.usedBytes > 0)

    for (const n of nodes) await n.flushEvents({ signal: AbortSignal.timeout(20_000) })
    const ev = await call(tt.url, 'GET', '/api/v1/events?type=pull.completed&limit=100', { token: tt.adminToken })
    assert.equal(ev.body.events.map((e: { clientId: string }) => e.clientId).sort(), nodes.map((n) => n.peerId).sort())
  } finally {
    for (const n of nodes) await n.stop()
    await tt.stop()
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  }
})

test('a node that finished its pull stays findable: the seeder re-announces after its membership lapsed', async () => {
  let offsetMs = 0
  const now = (): number => Date.now() + offsetMs
  const tt = await startTestTracker({ now })
  const dirs: string[] = []
  const nodes: RunningNode[] = []
  try {
    const ws = await publishAndAssign(tt, { bytes: sampleImage(IMAGE_BYTES, 6) })
    for (let i = 0; i < 2; i++) {
      const dir = await makeTmpDir('branchcast-daemon-')
      dirs.push(dir)
      // periodic rounds far apart: the test drives them
      nodes.push(await startNode({ config: configFor(dir, tt.url, ws.userToken), logger, now, seedIntervalMs: 3_600_000 }))
    }
    const [a, b] = nodes as [RunningNode, RunningNode]
    assert.is((await a.pull({ image: ws.image })).sha256, ws.sha256)
    offsetMs += 10 * 60_000 // far past the tracker's membership TTL: a's pull-time announces lapsed
    if (process.env.SEEDER_CONTROL !== '1') await a.announceHeld()
    const r = await b.pull({ image: ws.image })
    assert.is(r.sha256, ws.sha256)
    assert.ok(r.bytesFromPeers > 0, `the late puller took ${r.bytesFromPeers} bytes from peers`)
  } finally {
    for (const n of nodes) await n.stop()
    await tt.stop()
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  }
})

test('the peer id survives a restart, and stop() removes control.json', async () => {
  const tt = await startTestTracker()
  const dir = await makeTmpDir('branchcast-daemon-')
  try {
    const token = await tt.tokenFor('alice')
    const a = await startNode({ config: configFor(dir, tt.url, token), logger })
    const id = a.peerId
    await a.stop()
    await rejects(stat(controlFilePath(dir)), { code: 'ENOENT' })
    const b = await startNode({ config: configFor(dir, tt.url, token), logger })
    try {
      assert.is(b.peerId, id)
    } finally {
      await b.stop()
    }
  } finally {
    await tt.stop()
    await rm(dir, { recursive: true, force: true })
  }
})

test('without a token a first start is refused with a config error, and nothing keeps running', async () => {
  const dir = await makeTmpDir('branchcast-daemon-')
  try {
    await rejects(startNode({ config: configFor(dir, 'http://127.0.0.1:9', undefined), logger }), { code: 'ERR_NODE_CONFIG' })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
