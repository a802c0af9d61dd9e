// The swarm API over real HTTP: authorisation, malformed announces, peers same-site first,
// capabilities bound to the peer id, origin shares, p2p policy, expiry on the tracker's clock.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { verifyCapability } from '../../../protocol/signing/capability.ts'
import { startTestTracker } from '../../helpers/tracker.ts'
import type { TestTracker } from '../../helpers/tracker.ts'
import type { CallResult } from '../../helpers/tracker-swarm.ts'
import { assignImage, call, haveOf, newPeerId, publishFakeVersion, withProof } from '../../helpers/tracker-swarm.ts'

const T0 = 1_800_000_000_000
let nowMs = T0
let t: TestTracker
let alice: string
let bob: string
let carol: string
const CHUNKS = 20
let version = 0

const ANNOUNCE = '/api/v1/swarm/announce'

test.before(async () => {
  t = await startTestTracker({ now: () => nowMs })
  const store = t.tracker.components.store
  version = (await publishFakeVersion(store, { image: 'win', chunkCount: CHUNKS, nowMs })).number
  await publishFakeVersion(store, { image: 'other', chunkCount: 8, nowMs })
  await assignImage(store, { image: 'win', user: 'alice', nowMs, originRateBytesPerSec: 1_000_000 })
  await assignImage(store, { image: 'win', user: 'bob', nowMs })
  await assignImage(store, { image: 'win', user: 'carol', nowMs, p2pAllowed: false })
  alice = await t.tokenFor('alice')
  bob = await t.tokenFor('bob')
  carol = await t.tokenFor('carol')
})
test.after(async () => { await t?.stop() })

/** Each announce 1 ms after the last, so join order (the share order) is call order. */
async function announce (token: string | undefined, json: unknown): Promise<CallResult> {
  nowMs += 1
  return await call(t.url, 'POST', ANNOUNCE, { token, json: await withProof(json, nowMs) })
}

async function body (over: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  return { image: 'win', version, peerId: await newPeerId(), site: 'paris', addrs: ['/ip4/10.0.0.1/tcp/4001'], ...haveOf(CHUNKS, [0, 1]), ...over }
}

test('anonymous → 401; image not assigned → 403; admin may announce any image', async () => {
  assert.is((await announce(undefined, await body())).status, 401)
  assert.is((await call(t.url, 'POST', ANNOUNCE, { token: 'bct_' + 'x'.repeat(43), json: await body() })).status, 401)
  const r = await announce(alice, await body({ image: 'other', ...haveOf(8, []) }))
  assert.is(r.status, 403)
  assert.is(r.body.error.code, 'ERR_FORBIDDEN')
  const unknown = await announce(alice, await body({ image: 'nope' }))
  assert.is(unknown.status, 403, 'unknown and unassigned look the same to users')
  const admin = await announce(t.adminToken, await body({ image: 'other', ...haveOf(8, [7]) }))
  assert.is(admin.status, 200, JSON.stringify(admin.body))
})

test('malformed announces → 400', async () => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['bad base64', { have: 'not base64!', haveCount: 0 }],
    ['non-canonical base64', { have: 'AAA', haveCount: 0 }],
    ['have longer than ceil(chunkCount/8)', { have: Buffer.alloc(4).toString('base64'), haveCount: 0 }],
    ['bits past the last chunk', { have: Buffer.from([0, 0, 0x01]).toString('base64'), haveCount: 1 }],
    ['haveCount does not match', { ...haveOf(CHUNKS, [1, 2, 3]), haveCount: 2 }],
    ['too many addrs', { addrs: Array.from({ length: 17 }, (_, i) => `/ip4/10.0.0.${i}/tcp/4001`) }],
    ['addr too long', { addrs: ['/dns4/' + 'a'.repeat(300) + '/tcp/1'] }],
    ['not a multiaddr', { addrs: ['http://10.0.0.1:4001'] }],
    ['bad peer id', { peerId: 'QmNotAPeerId' }],
    ['peer id with a right shape but bad checksum', { peerId: '12D3KooW' + '1'.repeat(44) }],
    ['version not an integer', { version: 'one' }],
    ['missing site', { site: undefined }],
    ['site with a space', { site: 'pa ris' }]
  ]
  for (const [name, over] of cases) {
    const r = await announce(alice, await body(over))
    assert.is(r.status, 400, `${name}: ${JSON.stringify(r.body)}`)
    assert.is(r.body.error.code, 'ERR_BAD_REQUEST', name)
  }
  const broken = await call(t.url, 'POST', ANNOUNCE, { token: alice, body: '{"image": "win", ' })
  assert.is(broken.status, 400, 'truncated JSON')
  const huge = await call(t.url, 'POST', ANNOUNCE, { token: alice, body: JSON.stringify({ ...(await body()), have: 'A'.repeat(1024 * 1024 + 10) }) })
  assert.is(huge.status, 413)
})

test('unknown version 404, draft version 409', async () => {
  assert.is((await announce(alice, await body({ version: 999 }))).status, 404)
  const store = t.tracker.components.store
  const img = await store.getImage('win')
  const draft = await store.createDraft({ imageId: img!.id, createdBy: 'test', nowMs })
  const r = await announce(alice, await body({ version: draft.number }))
  assert.is(r.status, 409)
  assert.is(r.body.error.code, 'ERR_VERSION_NOT_PUBLISHED')
  await store.deleteDraft(draft.id)
})

test('a registered peer id: another user without its key gets 403 and changes nothing', async () => {
  const peerId = await newPeerId()
  const first = await announce(alice, await body({ peerId, site: 'hijack', addrs: ['/ip4/10.1.1.1/tcp/1'] }))
  assert.is(first.status, 200)
  // no proof: bob does not hold the key (with it, the id would be his: tests/security/peer-proof.test.ts)
  const stolen = await call(t.url, 'POST', ANNOUNCE, { token: bob, json: await body({ peerId, site: 'hijack', addrs: ['/ip4/6.6.6.6/tcp/1'] }) })
  assert.is(stolen.status, 403)
  const leave = await call(t.url, 'POST', '/api/v1/swarm/leave', { token: bob, json: { image: 'win', version, peerId } })
  assert.is(leave.status, 403)
  const members = await t.tracker.components.store.siteMembers('win', version, 'hijack', nowMs)
  assert.equal(members.map((m) => m.addrs), [[`/ip4/10.1.1.1/tcp/1/p2p/${peerId}`]])
  const client = await t.tracker.components.store.getClient(peerId)
  assert.is(client?.user, 'alice')
})

test('answer: same-site peers first, capability bound to the peer id, origin access, limits, interval', async () => {
  const far = await newPeerId()
  const near = await newPeerId()
  const asker = await newPeerId()
  await announce(bob, await body({ peerId: far, site: 'lyon', ...haveOf(CHUNKS, [0, 1, 2, 3, 4, 5, 6]) }))
  await announce(bob, await body({ peerId: near, site: 'order', ...haveOf(CHUNKS, [0]) }))
  const r = await announce(alice, await body({ peerId: asker, site: 'order', ...haveOf(CHUNKS, []) }))
  assert.is(r.status, 200, JSON.stringify(r.body))
  const ids = r.body.peers.map((p: { peerId: string }) => p.peerId)
  assert.ok(!ids.includes(asker), 'never itself')
  assert.is(ids[0], near, 'same site first even with fewer chunks')
  assert.ok(ids.indexOf(far) > 0)
  const nearPeer = r.body.peers[0]
  assert.equal(nearPeer.addrs, [`/ip4/10.0.0.1/tcp/4001/p2p/${near}`], 'stored as the peer\'s own address')
  assert.is(nearPeer.have, haveOf(CHUNKS, [0]).have)
  assert.is(nearPeer.haveCount, 1)
  const keys = t.tracker.components.keys
  const claims = verifyCapability(r.body.capability, { publicKey: keys.capability.publicKey, nowMs, aud: 'peer', sub: asker, img: 'win' })
  assert.is(claims.exp, nowMs + t.tracker.components.config.capabilityTtlSeconds * 1000)
  verifyCapability(r.body.origin.token, { publicKey: keys.capability.publicKey, nowMs, aud: 'origin', sub: asker, img: 'win' })
  assert.is(r.body.origin.kind, 'builtin')
  assert.equal(r.body.limits, { originRateBytesPerSec: 1_000_000, downloadWindow: null })
  assert.is(r.body.announceIntervalMs, 40_000)
  assert.equal(r.body.originShare, { index: 1, of: 2 })
})

test('origin shares: one per site member, stable under re-announce, redistributed when one leaves', async () => {
  const peers = [await newPeerId(), await newPeerId(), await newPeerId()]
  const shares = async (): Promise<Array<{ index: number, of: number }>> => {
    const out = []
    for (const peerId of peers) {
      const r = await announce(bob, await body({ peerId, site: 'share' }))
      assert.is(r.status, 200)
      out.push(r.body.originShare)
    }
    return out
  }
  const first = await shares()
  assert.equal(first.map((s) => s.of), [1, 2, 3], 'each joiner sees the site as it is then')
  assert.equal(await shares(), [{ index: 0, of: 3 }, { index: 1, of: 3 }, { index: 2, of: 3 }])
  assert.equal(await shares(), [{ index: 0, of: 3 }, { index: 1, of: 3 }, { index: 2, of: 3 }], 'stable')
  const left = await call(t.url, 'POST', '/api/v1/swarm/leave', { token: bob, json: { image: 'win', version, peerId: peers[1] } })
  assert.equal(left.body, { removed: true })
  peers.splice(1, 1)
  assert.equal(await shares(), [{ index: 0, of: 2 }, { index: 1, of: 2 }])
})

test('origin shares count only members still pulling: a joiner next to a complete seeder is alone in the split', async () => {
  const seeder = await newPeerId()
  const all = Array.from({ length: CHUNKS }, (_, i) => i)
  const s = await announce(bob, await body({ peerId: seeder, site: 'seeded', ...haveOf(CHUNKS, all) }))
  assert.equal(s.body.originShare, { index: 0, of: 1 }, 'the seeder needs nothing')
  const joiner = await newPeerId()
  const j = await announce(bob, await body({ peerId: joiner, site: 'seeded', ...haveOf(CHUNKS, []) }))
  assert.equal(j.body.originShare, { index: 0, of: 1 }, 'the complete seeder is not counted')
  assert.is(j.body.peers[0].peerId, seeder, 'and it is the joiner\'s first peer')
  const second = await newPeerId()
  const b = await announce(bob, await body({ peerId: second, site: 'seeded', ...haveOf(CHUNKS, []) }))
  assert.equal(b.body.originShare, { index: 1, of: 2 }, 'two pullers split what the seeder lacks')
  await announce(bob, await body({ peerId: joiner, site: 'seeded', ...haveOf(CHUNKS, all) }))
  const after = await announce(bob, await body({ peerId: second, site: 'seeded', ...haveOf(CHUNKS, [3]) }))
  assert.equal(after.body.originShare, { index: 0, of: 1 }, 'the first joiner finished: the second is alone in the split')
})

test('p2p not allowed: no peers, no capability, a reason; and the peer is not handed to others', async () => {
  const lonely = await newPeerId()
  const r = await announce(carol, await body({ peerId: lonely, site: 'nop2p' }))
  assert.is(r.status, 200)
  assert.equal(r.body.peers, [])
  assert.is(r.body.capability, undefined)
  assert.type(r.body.reason, 'string')
  assert.equal(r.body.originShare, { index: 0, of: 1 })
  assert.type(r.body.origin.token, 'string')
  const other = await announce(alice, await body({ site: 'nop2p' }))
  assert.ok(!other.body.peers.some((p: { peerId: string }) => p.peerId === lonely))
  assert.equal(other.body.originShare, { index: 0, of: 1 })
})

test('membership lapses without announces (tracker clock), and the sweeper deletes it', async () => {
  const old = await newPeerId()
  await announce(alice, await body({ peerId: old, site: 'expiry' }))
  nowMs += 60_000
  let r = await announce(alice, await body({ site: 'expiry' }))
  assert.ok(r.body.peers.some((p: { peerId: string }) => p.peerId === old), 'still live within the TTL')
  assert.equal(r.body.originShare, { index: 1, of: 2 })
  nowMs += 121_000
  r = await announce(alice, await body({ site: 'expiry' }))
  assert.ok(!r.body.peers.some((p: { peerId: string }) => p.peerId === old), 'gone after the TTL')
  assert.equal(r.body.originShare, { index: 0, of: 1 })
  // The sweep (run after announces, or by its timer) deletes the row; reads never needed it.
  const store = t.tracker.components.store
  await store.expireMembers(nowMs)
  const rows = await store.siteMembers('win', version, 'expiry', 0)
  assert.ok(!rows.some((m) => m.peerId === old), 'lapsed row deleted')
})

test('metrics: announces counter and swarm-size gauge', async () => {
  await announce(alice, await body({ site: 'metrics' }))
  const deadline = Date.now() + 5000
  let text = ''
  while (Date.now() < deadline) {
    text = t.tracker.components.metrics.render() // the detailed series (anonymous /metrics names no image)
    if (/branchcast_swarm_members\{image="win",version="\d+"\} \d+/.test(text)) break
    nowMs += 2000 // the gauge refreshes after announces at most once a (tracker) second
    await announce(alice, await body({ site: 'metrics' }))
  }
  assert.match(text, /branchcast_swarm_announces_total\{result="ok"\} \d+/)
  assert.match(text, /branchcast_swarm_members\{image="win",version="\d+"\} \d+/)
})

test.run()
