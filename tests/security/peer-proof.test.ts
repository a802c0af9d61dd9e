// Issue 11, findings 5 and 6: peer ids are proven by their key, not owned by whoever names
// them first; a user cannot fill a site with fake peers or announce another peer's address.
import { randomUUID } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { PEER_PROOF_MAX_SKEW_MS, signPeerProof } from '../../protocol/swarm/peer-proof.ts'
import { MAX_PEER_IDS_PER_USER_SITE } from '../../tracker/swarm/constants.ts'
import { startTestTracker } from '../helpers/tracker.ts'
import type { TestTracker } from '../helpers/tracker.ts'
import { assignImage, call, haveOf, newPeerId, publishFakeVersion, withProof } from '../helpers/tracker-swarm.ts'
import type { CallResult } from '../helpers/tracker-swarm.ts'

const CHUNKS = 8
let t: TestTracker
let victim: string
let mallory: string
let version: number

test.before(async () => {
  t = await startTestTracker()
  const { store } = t.tracker.components
  version = (await publishFakeVersion(store, { image: 'win', chunkCount: CHUNKS, nowMs: Date.now() })).number
  for (const user of ['victim', 'mallory']) await assignImage(store, { image: 'win', user, nowMs: Date.now() })
  victim = await t.tokenFor('victim')
  mallory = await t.tokenFor('mallory')
})
test.after(async () => { await t?.stop() })

const body = (peerId: string, over: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ image: 'win', version, peerId, site: 'branch-7', addrs: [], ...haveOf(CHUNKS, [0]), ...over })
const announce = async (token: string, json: unknown): Promise<CallResult> => await call(t.url, 'POST', '/api/v1/swarm/announce', { token, json })

test('finding 5: an events POST naming a peer id does not lock its node out; proof decides', async () => {
  const peerId = await newPeerId()
  // mallory saw the id on the LAN (mDNS) and reports under it first
  const squat = await call(t.url, 'POST', '/api/v1/events', { token: mallory, json: { events: [{ id: randomUUID(), type: 'session.started', at: Date.now(), payload: { image: 'win' } }] }, headers: { 'x-branchcast-client': peerId } })
  assert.is(squat.status, 200, JSON.stringify(squat.body))
  const real = await announce(victim, await withProof(body(peerId), Date.now()))
  assert.is(real.status, 200, JSON.stringify(real.body))
  assert.is((await t.tracker.components.store.getClient(peerId))?.user, 'victim')
  // without the key mallory can neither announce with it nor take it back
  assert.is((await announce(mallory, body(peerId))).status, 403)
  const forged = await signPeerProof(await generateKeyPair('Ed25519'), peerId, Date.now())
  assert.is((await announce(mallory, { ...body(peerId), proof: forged })).status, 403)
  assert.is((await t.tracker.components.store.getClient(peerId))?.user, 'victim')
})

test('finding 5: an unproven, stale or garbled proof registers nothing', async () => {
  const peerId = await newPeerId()
  const cases: Array<[string, unknown]> = [
    ['no proof', body(peerId)],
    ['stale proof', await withProof(body(peerId), Date.now() - PEER_PROOF_MAX_SKEW_MS - 60_000)],
    ['future proof', await withProof(body(peerId), Date.now() + PEER_PROOF_MAX_SKEW_MS + 60_000)],
    ['garbled signature', { ...body(peerId), proof: { atMs: Date.now(), signature: 'AAAA' } }],
    ['not base64', { ...body(peerId), proof: { atMs: Date.now(), signature: '!!!!' } }]
  ]
  for (const [name, json] of cases) {
    const r = await announce(victim, json)
    assert.is(r.status, 403, `${name}: ${JSON.stringify(r.body)}`)
    assert.is(r.body.error.code, 'ERR_FORBIDDEN', name)
  }
  assert.is(await t.tracker.components.store.getClient(peerId), undefined)
})

test(`finding 6: one user gets at most ${MAX_PEER_IDS_PER_USER_SITE} live peer ids per site`, async () => {
  let accepted = 0
  for (let i = 0; i < 20; i++) {
    const r = await announce(mallory, await withProof(body(await newPeerId(), { site: 'flooded' }), Date.now()))
    if (r.status === 200) accepted++
    else assert.is(r.status, 403, JSON.stringify(r.body))
  }
  assert.is(accepted, MAX_PEER_IDS_PER_USER_SITE)
  const members = await t.tracker.components.store.siteMembers('win', version, 'flooded', Date.now())
  assert.is(members.length, MAX_PEER_IDS_PER_USER_SITE)
  // another user is not affected by mallory's cap
  const own = await announce(victim, await withProof(body(await newPeerId(), { site: 'flooded' }), Date.now()))
  assert.is(own.status, 200)
})

test('finding 6: announced addresses must be the peer\'s own', async () => {
  const peerId = await newPeerId()
  const other = await newPeerId()
  const bad = await announce(victim, await withProof(body(peerId, { site: 'addrs', addrs: [`/ip4/10.0.0.9/tcp/4001/p2p/${other}`] }), Date.now()))
  assert.is(bad.status, 400, JSON.stringify(bad.body))
  const ok = await announce(victim, await withProof(body(peerId, { site: 'addrs', addrs: ['/ip4/10.0.0.9/tcp/4001', `/ip4/10.0.0.9/tcp/4002/p2p/${peerId}`] }), Date.now()))
  assert.is(ok.status, 200, JSON.stringify(ok.body))
  const [m] = await t.tracker.components.store.siteMembers('win', version, 'addrs', Date.now())
  assert.equal(m?.addrs, [`/ip4/10.0.0.9/tcp/4001/p2p/${peerId}`, `/ip4/10.0.0.9/tcp/4002/p2p/${peerId}`])
})

test.run()
