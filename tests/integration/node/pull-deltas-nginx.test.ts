// The same update as pull-deltas.test.ts through nginx serving the tracker's store under
// signed links (the IIS-like static origin): the node finds the delta index and the deltas
// at the same relative paths as chunks, with the same signed query, and rebuilds v2.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { readFile, rm } from 'node:fs/promises'
import { loadTrackerKeys } from '../../../tracker/keys.ts'
import { startNginxOrigin } from '../../helpers/nginx.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'
import { startTestTracker } from '../../helpers/tracker.ts'
import { publishAndAssign, sampleImage, startTestNode } from '../../helpers/swarm.ts'

test('a node pulls an update as deltas from nginx with signed links', async () => {
  const dataDir = await makeTmpDir('branchcast-deltas-nginx-node-')
  const keys = await loadTrackerKeys(dataDir)
  const nginx = await startNginxOrigin({ dataDir, secret: keys.originLinkSecret })
  const tt = await startTestTracker({ config: { dataDir, originUrl: nginx.url } })
  try {
    const bytes = sampleImage(4 * 1024 * 1024, 21)
    const v2bytes = Uint8Array.from(bytes)
    for (let o = 333; o < v2bytes.length; o += 200 * 1024) v2bytes.set(Buffer.from('patched!'), o)
    const v1 = await publishAndAssign(tt, { image: 'nx', bytes })
    const v2 = await publishAndAssign(tt, { image: 'nx', bytes: v2bytes })
    await tt.tracker.components.repository.deltasIdle()
    const n = await startTestNode(tt, v1.userToken)
    try {
      await n.puller.pull({ image: 'nx', version: 1 })
      const r = await n.puller.pull({ image: 'nx', version: 2 })
      assert.is(createHash('sha256').update(await readFile(r.path)).digest('hex'), v2.sha256)
      assert.ok(r.deltas.indexEntries > 0 && r.deltas.chunks === r.deltas.indexEntries, JSON.stringify(r.deltas))
      assert.is(r.deltas.refused + r.deltas.fallbacks, 0)
      assert.ok(r.deltaBytesFromOrigin > 0)
    } finally { await n.stop() }
  } finally {
    await tt.stop()
    await nginx.stop()
    await rm(dataDir, { recursive: true, force: true })
  }
})

test.run()
