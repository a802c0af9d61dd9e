// Issue 11, finding 12: what the tracker enforces of a policy itself rather than trusting
// the node — a pinned workspace gets no swarm (peers, capabilities, origin access) for any
// other version.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestTracker } from '../helpers/tracker.ts'
import { call, haveOf, newPeerId, publishFakeVersion, withProof } from '../helpers/tracker-swarm.ts'

test('a pinned policy: announces for another version get 403, the pinned one 200', async () => {
  const t = await startTestTracker()
  try {
    const { store } = t.tracker.components
    const nowMs = Date.now()
    const v1 = await publishFakeVersion(store, { image: 'pinned', chunkCount: 8, nowMs })
    const v2 = await publishFakeVersion(store, { image: 'pinned', chunkCount: 8, nowMs })
    const policy = await store.createPolicy({ name: 'pin-v1', imageName: 'pinned', nowMs, pinnedVersion: v1.number })
    await store.assign({ policyId: policy.id, subjectKind: 'user', subject: 'alice', nowMs })
    const alice = await t.tokenFor('alice')
    const peerId = await newPeerId()
    const body = async (version: number): Promise<unknown> => await withProof({ image: 'pinned', version, peerId, site: 's', addrs: [], ...haveOf(8, []) }, Date.now())
    const other = await call(t.url, 'POST', '/api/v1/swarm/announce', { token: alice, json: await body(v2.number) })
    assert.is(other.status, 403, JSON.stringify(other.body))
    assert.is(other.body.error.code, 'ERR_FORBIDDEN')
    const pinned = await call(t.url, 'POST', '/api/v1/swarm/announce', { token: alice, json: await body(v1.number) })
    assert.is(pinned.status, 200, JSON.stringify(pinned.body))
  } finally {
    await t.stop()
  }
})

test.run()
