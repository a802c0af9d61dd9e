// Two `branchcast tracker` processes on one SQLite file serve one swarm and one event log:
// the state is in the database, never in a process.
import { randomUUID } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { openStore } from '../../../tracker/db/index.ts'
import { mintApiToken } from '../../../tracker/identity/index.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'
import { spawnTracker, stopTracker } from '../../helpers/tracker-process.ts'
import type { TrackerProcess } from '../../helpers/tracker-process.ts'
import { assignImage, call, haveOf, newPeerId, publishFakeVersion, withProof } from '../../helpers/tracker-swarm.ts'
import type { CallResult } from '../../helpers/tracker-swarm.ts'

type Proc = TrackerProcess
const kill = stopTracker

test('a node announcing to A is a peer of a node announcing to B; an event sent to A twice and B once is stored once', async () => {
  const dataDir = await makeTmpDir('branchcast-two-trackers-')
  let a: Proc | undefined
  let b: Proc | undefined
  try {
    a = await spawnTracker(dataDir) // applies the migrations first
    b = await spawnTracker(dataDir)
    const store = await openStore({ url: `sqlite:${join(dataDir, 'tracker.db')}` })
    let token: string
    let version: number
    try {
      const nowMs = Date.now()
      version = (await publishFakeVersion(store, { image: 'shared', chunkCount: 16, nowMs })).number
      await assignImage(store, { image: 'shared', user: 'ann', nowMs })
      token = (await mintApiToken(store, { user: 'ann', nowMs })).token
    } finally {
      await store.close()
    }
    const peerA = await newPeerId()
    const peerB = await newPeerId()
    const announce = async (url: string, peerId: string): Promise<CallResult> => await call(url, 'POST', '/api/v1/swarm/announce', {
      token,
      json: await withProof({ image: 'shared', version, peerId, site: 'hq', addrs: ['/ip4/127.0.0.1/tcp/4001'], ...haveOf(16, [0, 5]) }, Date.now())
    })
    const ra = await announce(a.url, peerA)
    assert.is(ra.status, 200, JSON.stringify(ra.body))
    const rb = await announce(b.url, peerB)
    assert.is(rb.status, 200, JSON.stringify(rb.body))
    assert.equal(rb.body.peers.map((p: { peerId: string }) => p.peerId), [peerA])
    assert.equal(rb.body.originShare, { index: 1, of: 2 }, 'B counts the member A registered')
    const again = await announce(a.url, peerA)
    assert.equal(again.body.peers.map((p: { peerId: string }) => p.peerId), [peerB])
    assert.equal(again.body.originShare, { index: 0, of: 2 })

    const event = { id: randomUUID(), type: 'session.started', at: Date.now(), payload: { image: 'shared' } }
    const post = (url: string): Promise<CallResult> => call(url, 'POST', '/api/v1/events', { token, json: { events: [event] }, headers: { 'x-branchcast-client': peerA } })
    assert.equal((await post(a.url)).body, { inserted: 1, duplicates: 0 })
    assert.equal((await post(a.url)).body, { inserted: 0, duplicates: 1 })
    assert.equal((await post(b.url)).body, { inserted: 0, duplicates: 1 })
    let admin: string
    const s2 = await openStore({ url: `sqlite:${join(dataDir, 'tracker.db')}` })
    try {
      admin = (await mintApiToken(s2, { user: 'root', isAdmin: true, nowMs: Date.now() })).token
    } finally {
      await s2.close()
    }
    const listed = await call(b.url, 'GET', '/api/v1/events?type=session.started', { token: admin })
    assert.equal(listed.body.events.map((e: { id: string }) => e.id), [event.id])
  } finally {
    await Promise.all([kill(a), kill(b)])
    await rm(dataDir, { recursive: true, force: true })
  }
})

test.run()
