/**
 * Branchcast's update as a desk really does it: an in-process tracker (built-in origin,
 * deltas computed after the publish, as deployed) and one node with its image store. The
 * node pulls v1, v2 is published, the tracker's delta job is waited for (its real signal),
 * then the node pulls v2. Bytes are the v2 pull's wire bytes from its PullReport (chunks,
 * deltas, changed chunk-list parts and the delta index) plus the signed manifest root it
 * fetched from the tracker; time is the v2 pull's own duration. The v2 image is checked
 * byte for byte against the pair's.
 */
import { createHash } from 'node:crypto'
import { createReadStream, statSync } from 'node:fs'
import { Readable } from 'node:stream'
import { createApiClient } from '../../protocol/api/client.ts'
import type { PullReport } from '../../node/pull/index.ts'
import { startTestTracker } from '../../tests/helpers/tracker.ts'
import { startTestNode } from '../../tests/helpers/swarm.ts'
import type { Pair } from './pair.ts'

export interface NodePullResult {
  /** the v2 pull's report */
  report: PullReport
  /** wire bytes of the update: origin + peers + the manifest root */
  bytes: number
  manifestBytes: number
  seconds: number
  /** the v1 pull, for scale */
  firstPullSeconds: number
  firstPullBytes: number
  /** how long the tracker took to compute v2's deltas after the upload answered */
  deltaSeconds: number
  identical: boolean
}

async function sha256File (path: string): Promise<string> {
  const h = createHash('sha256')
  for await (const b of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(b as Buffer)
  return h.digest('hex')
}

export async function nodePull (pair: Pair): Promise<NodePullResult> {
  const tt = await startTestTracker()
  try {
    const admin = createApiClient({ baseUrl: tt.url, token: tt.adminToken })
    await admin.request('POST', '/api/v1/images', { json: { name: 'bench' } })
    const publish = async (path: string): Promise<number> => {
      const res = await fetch(`${tt.url}/api/v1/images/bench/versions?publish=true`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tt.adminToken}`, 'content-type': 'application/octet-stream', 'content-length': String(statSync(path).size) },
        body: Readable.toWeb(createReadStream(path, { highWaterMark: 1 << 20 })) as ReadableStream<Uint8Array>,
        duplex: 'half'
      } as RequestInit)
      if (res.status !== 201) throw new Error(`publish answered ${res.status}: ${await res.text()}`)
      return (await res.json() as { version: number }).version
    }
    await publish(pair.v1)
    await admin.request('POST', '/api/v1/policies', { json: { name: 'bench-desk', image: 'bench', p2pAllowed: true } })
    await admin.request('POST', '/api/v1/assignments', { json: { policy: 'bench-desk', user: 'desk' } })
    const node = await startTestNode(tt, await tt.tokenFor('desk'))
    try {
      const first = await node.puller.pull({ image: 'bench', version: 1 })
      const v2 = await publish(pair.v2)
      const t = performance.now()
      await tt.tracker.components.repository.deltasIdle()
      const deltaSeconds = (performance.now() - t) / 1000
      const report = await node.puller.pull({ image: 'bench', version: v2 })
      const { store } = tt.tracker.components
      const manifestBytes = (await store.getVersion((await store.getImage('bench'))!.id, v2))!.manifestRoot!.byteLength
      const identical = await sha256File(report.path) === await sha256File(pair.v2)
      return {
        report,
        bytes: report.bytesFromOrigin + report.bytesFromPeers + manifestBytes,
        manifestBytes,
        seconds: report.durationMs / 1000,
        firstPullSeconds: first.durationMs / 1000,
        firstPullBytes: first.bytesFromOrigin,
        deltaSeconds,
        identical
      }
    } finally {
      await node.stop()
    }
  } finally {
    await tt.stop()
  }
}
