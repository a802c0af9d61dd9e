import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { WHOLE_SHARE, inShare, isOriginShare, originShare } from '../../../../protocol/swarm/origin-share.ts'

const CHUNKS = 1000
/** Members still pulling (holding fewer than all chunks). */
const site = (ids: string[]): Array<{ peerId: string, haveCount: number }> => ids.map((peerId) => ({ peerId, haveCount: 0 }))

/** Which member fetches each chunk from the origin; every chunk must have exactly one. */
function owners (ids: string[], chunkCount: number): number[] {
  const shares = ids.map((id) => originShare(site(ids), id, CHUNKS))
  return Array.from({ length: chunkCount }, (_, chunk) => {
    const who = shares.flatMap((s, i) => inShare(s, chunk) ? [i] : [])
    assert.is(who.length, 1, `chunk ${chunk} has owners ${JSON.stringify(who)}`)
    return who[0]!
  })
}

test('shares cover every chunk exactly once across a site, for every site size', () => {
  for (let n = 1; n <= 9; n++) {
    const ids = Array.from({ length: n }, (_, i) => `p${i}`)
    const o = owners(ids, 101)
    // each member gets floor or ceil of chunkCount / n: nobody does everything
    const counts = ids.map((_, i) => o.filter((x) => x === i).length)
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `n=${n}: ${counts.join(',')}`)
  }
})

test('stable under re-announce: the same order gives the same shares', () => {
  const ids = ['a', 'b', 'c']
  const first = ids.map((id) => originShare(site(ids), id, CHUNKS))
  const again = ids.map((id) => originShare(site([...ids]), id, CHUNKS))
  assert.equal(again, first)
  assert.equal(first, [{ index: 0, of: 3 }, { index: 1, of: 3 }, { index: 2, of: 3 }])
})

test('a member leaving redistributes its chunks among the rest', () => {
  const before = owners(['a', 'b', 'c'], 60)
  const after = owners(['a', 'c'], 60)
  const orphaned = before.flatMap((o, chunk) => o === 1 ? [chunk] : [])
  assert.ok(orphaned.length > 0)
  for (const chunk of orphaned) assert.ok(after[chunk] === 0 || after[chunk] === 1, `chunk ${chunk} taken over`)
})

test('a peer missing from the list (lapsed between write and read) takes everything', () => {
  assert.equal(originShare(site(['a', 'b']), 'zz', CHUNKS), { index: 0, of: 1 })
  assert.equal(originShare([], 'a', CHUNKS), { index: 0, of: 1 })
  assert.ok(inShare({ index: 0, of: 1 }, 12345))
})

test('only members still pulling share origin work; a complete one never holds a share', () => {
  // [members as (peer, chunks held)], asker → its share
  const cases: Array<[string, Array<[string, number]>, string, { index: number, of: number }]> = [
    ['a complete seeder is not counted: the joiner is alone in the split', [['seed', CHUNKS], ['joiner', 0]], 'joiner', { index: 0, of: 1 }],
    ['two seeders and two pullers: the pullers split it in join order', [['s1', CHUNKS], ['p1', 10], ['s2', CHUNKS], ['p2', 0]], 'p2', { index: 1, of: 2 }],
    ['a member one chunk short still pulls', [['p1', CHUNKS - 1], ['p2', 0]], 'p1', { index: 0, of: 2 }],
    ['the complete asker itself gets the whole (it needs nothing)', [['p1', 0], ['seed', CHUNKS]], 'seed', { index: 0, of: 1 }]
  ]
  for (const [name, members, asker, want] of cases) {
    assert.equal(originShare(members.map(([peerId, haveCount]) => ({ peerId, haveCount })), asker, CHUNKS), want, name)
  }
})

test('well-formed shares: integers with 0 <= index < of', () => {
  const cases: Array<[{ index: number, of: number }, boolean]> = [
    [WHOLE_SHARE, true], [{ index: 2, of: 3 }, true],
    [{ index: 3, of: 3 }, false], [{ index: -1, of: 3 }, false], [{ index: 0, of: 0 }, false], [{ index: 0.5, of: 2 }, false], [{ index: 0, of: Infinity }, false]
  ]
  for (const [share, ok] of cases) assert.is(isOriginShare(share), ok, JSON.stringify(share))
})

test.run()
