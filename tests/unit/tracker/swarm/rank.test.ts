import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { rankPeers } from '../../../../tracker/swarm/rank.ts'

const p = (peerId: string, site: string, haveCount: number, announcedAtMs = 0): { peerId: string, site: string, haveCount: number, announcedAtMs: number } =>
  ({ peerId, site, haveCount, announcedAtMs })

test('same site first, then most chunks, then most recent, then peer id; never self; capped', () => {
  const peers = [p('far-full', 'lyon', 100), p('near-few', 'paris', 1), p('self', 'paris', 50), p('near-many', 'paris', 9),
    p('near-tie-old', 'paris', 5, 1), p('near-tie-new', 'paris', 5, 2), p('b', 'lyon', 3), p('a', 'lyon', 3)]
  const ranked = rankPeers(peers, { self: 'self', site: 'paris', max: 10 }).map((x) => x.peerId)
  assert.equal(ranked, ['near-many', 'near-tie-new', 'near-tie-old', 'near-few', 'far-full', 'a', 'b'])
  assert.equal(rankPeers(peers, { self: 'self', site: 'paris', max: 2 }).map((x) => x.peerId), ['near-many', 'near-tie-new'])
  assert.equal(rankPeers(peers, { self: 'self', site: 'paris', max: 0 }), [])
})

test('does not reorder its input; rejects a bad max', () => {
  const peers = [p('x', 's', 1), p('y', 's', 2)]
  rankPeers(peers, { self: '', site: 's', max: 5 })
  assert.equal(peers.map((x) => x.peerId), ['x', 'y'])
  assert.throws(() => rankPeers(peers, { self: '', site: 's', max: -1 }), TypeError)
})

test.run()
