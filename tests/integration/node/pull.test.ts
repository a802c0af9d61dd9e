import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { startTestTracker } from '../../helpers/tracker.ts'
import type { TestTracker } from '../../helpers/tracker.ts'
import { publishAndAssign, sampleImage, startTestNode } from '../../helpers/swarm.ts'
import type { TestNode } from '../../helpers/swarm.ts'

const IMAGE_BYTES = 6 * 1024 * 1024

test('one node alone pulls from the origin and says why', async () => {
  const tt = await startTestTracker()
  const nodes: TestNode[] = []
  try {
    const ws = await publishAndAssign(tt, { bytes: sampleImage(IMAGE_BYTES, 7) })
    nodes.push(await startTestNode(tt, ws.userToken))
    const r = await nodes[0]!.puller.pull({ image: ws.image })
    assert.is(r.sha256, ws.sha256)
    assert.is(createHash('sha256').update(await readFile(r.path)).digest('hex'), ws.sha256)
    assert.is(r.bytesFromPeers, 0)
    assert.ok(r.bytesFromOrigin > 0)
    const reasons = Object.entries(r.originBytesByReason).filter(([, v]) => v > 0).map(([k]) => k)
    assert.ok(reasons.length > 1 && reasons.every((k) => k === 'assigned' || k === 'no-peer' || k === 'chunk-list'), reasons.join(','))
    // the chunk list's parts are booked apart from the image's chunks
    assert.ok(r.originBytesByReason['chunk-list']! > 0 && r.originBytesByReason['chunk-list']! < 0.05 * r.bytesFromOrigin, JSON.stringify(r.originBytesByReason))
    // A second pull of the same version is served by what is on disk.
    const again = await nodes[0]!.puller.pull({ image: ws.image })
    assert.is(again.bytesFromOrigin + again.bytesFromPeers, 0)
  } finally {
    for (const n of nodes) await n.stop()
    await tt.stop()
  }
})

test('four nodes of one site pull together: identical images, the origin serves the image about once', async () => {
  const tt = await startTestTracker()
  const nodes: TestNode[] = []
  try {
    const ws = await publishAndAssign(tt, { bytes: sampleImage(IMAGE_BYTES, 11) })
    for (let i = 0; i < 4; i++) nodes.push(await startTestNode(tt, ws.userToken, { site: 'branch-a' }))
    const reports = await Promise.all(nodes.map(async (n) => await n.puller.pull({ image: ws.image })))
    for (const r of reports) assert.is(r.sha256, ws.sha256)
    const origin = reports.reduce((s, r) => s + r.bytesFromOrigin, 0)
    const peers = reports.reduce((s, r) => s + r.bytesFromPeers, 0)
    assert.is((await stat(reports[0]!.path)).size, IMAGE_BYTES, 'the assembled file has the image size (sparse holes included)')
    assert.ok(origin <= 1.1 * IMAGE_BYTES, `origin bytes ${origin} for an image of ${IMAGE_BYTES}`)
    assert.ok(peers > 0, 'peers carried part of the image')
  } finally {
    for (const n of nodes) await n.stop()
    await tt.stop()
  }
})

test.run()
