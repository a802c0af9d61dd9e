// Desks of one branch coming online one after another — each after the previous finished —
// with a real tracker and real `branchcast node` processes: the first takes the image from
// the origin (why: no-peer, it is alone), the later ones take it from the desks already
// holding it, and the branch's WAN link carries the image about once. The tracker's
// /metrics shows it per site.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { createControlClient, readControlFile } from '../../../node/index.ts'
import type { PullReport } from '../../../node/index.ts'
import { startNodeProcess } from '../../../bin/node-process.ts'
import type { NodeProcess } from '../../../bin/node-process.ts'
import { startTestTracker } from '../../helpers/tracker.ts'
import { publishAndAssign, sampleImage } from '../../helpers/swarm.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'

const IMAGE_BYTES = 6 * 1024 * 1024
const DESKS = 3
const SITE = 'branch-staggered'

async function waitFor<T> (what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

test('desks joining one after another: later joiners take ~0 bytes from the origin; the first says no-peer', async () => {
  // per-site series are for the scraper holding the metrics token (docs/security.md, finding 8)
  const metricsToken = 'scrape-' + 'x'.repeat(24)
  const tt = await startTestTracker({ config: { metricsToken } })
  const dir = await makeTmpDir('branchcast-staggered-')
  const nodes: NodeProcess[] = []
  try {
    const ws = await publishAndAssign(tt, { bytes: sampleImage(IMAGE_BYTES, 31) })
    const reports: PullReport[] = []
    for (let i = 0; i < DESKS; i++) {
      const node = await startNodeProcess({ dataDir: join(dir, `desk-${i}`), tracker: tt.url, token: ws.userToken, site: SITE, logFile: join(dir, `desk-${i}.log`) })
      nodes.push(node)
      const r = await createControlClient(await readControlFile(node.dataDir)).pull(ws.image)
      assert.is(r.sha256, ws.sha256)
      reports.push(r)
    }
    const [first, ...later] = reports as [PullReport, ...PullReport[]]
    const noPeer = first.originBytesByReason['no-peer'] ?? 0
    assert.ok(noPeer >= 0.9 * first.bytesFromOrigin, `alone in its site, the first desk says no-peer: ${JSON.stringify(first.originBytesByReason)}`)
    const laterOrigin = later.reduce((s, r) => s + r.bytesFromOrigin, 0)
    assert.ok(laterOrigin <= 0.02 * IMAGE_BYTES, `later joiners took ${laterOrigin} wire bytes from the origin (${JSON.stringify(later.map((r) => r.originBytesByReason))})`)
    for (const r of later) assert.ok(r.bytesFromPeers + r.bytesFromLocal >= 0.95 * IMAGE_BYTES, `a later joiner took its image from peers: ${r.bytesFromPeers}`)

    // the same numbers per site in /metrics, once the desks' events arrived
    const metric = (text: string, labels: string): number => Number(new RegExp(`^branchcast_site_wire_bytes_total\\{${labels}\\} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN)
    const text = await waitFor('three pulls in /metrics', async () => {
      const t = await (await fetch(`${tt.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })).text()
      return t.includes(`branchcast_site_pulls_total{site="${SITE}"} ${DESKS}`) ? t : undefined
    }, 60_000)
    assert.is(metric(text, `site="${SITE}",source="origin"`), reports.reduce((s, r) => s + r.bytesFromOrigin, 0))
    assert.is(metric(text, `site="${SITE}",source="peers"`), reports.reduce((s, r) => s + r.bytesFromPeers, 0))
  } finally {
    for (const n of nodes.reverse()) await n.stop()
    await tt.stop()
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
