// The rule that lets the tracker publish a boot profile from nodes' recordings: a chunk
// needs a strict majority, the order is the median position, ties are decided by the
// input alone. One table row per case.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mergeBootRecordings } from '../../../../tracker/repository/boot-profile-merge.ts'

const CASES: Array<[string, string[][], string[]]> = [
  ['no recordings: nothing', [], []],
  ['one recording is taken as it is', [['a', 'b', 'c']], ['a', 'b', 'c']],
  ['two agree: the same list', [['a', 'b', 'c'], ['a', 'b', 'c']], ['a', 'b', 'c']],
  ['two: only what both read (a strict majority of 2 is 2)', [['a', 'b', 'x'], ['a', 'y', 'b']], ['a', 'b']],
  ['three, one liar adding chunks: its additions are out', [['a', 'b', 'c'], ['a', 'b', 'c'], ['z1', 'z2', 'a', 'z3']], ['a', 'b', 'c']],
  ['three, one liar dropping everything: the honest two decide', [['a', 'b', 'c'], ['a', 'b', 'c'], ['q']], ['a', 'b', 'c']],
  ['three, one liar reversing the order: the median keeps the honest order', [['a', 'b', 'c', 'd'], ['a', 'b', 'c', 'd'], ['d', 'c', 'b', 'a']], ['a', 'b', 'c', 'd']],
  ['a chunk two of three read is kept, in its median place', [['a', 'b', 'c'], ['a', 'c'], ['a', 'b', 'c']], ['a', 'b', 'c']],
  ['a tie of medians: the earliest recording\'s order decides', [['b', 'a'], ['a', 'b']], ['b', 'a']],
  ['four: three of four is a majority, two of four is not', [['a', 'b', 'c'], ['a', 'b'], ['a', 'c'], ['a', 'b']], ['a', 'b']]
]

for (const [name, recordings, expected] of CASES) {
  test(name, () => {
    assert.equal(mergeBootRecordings(recordings), expected)
  })
}

test('the merge does not depend on which recording came first when they are the same set', () => {
  const r = [['a', 'b', 'c', 'd'], ['b', 'a', 'c', 'e'], ['a', 'c', 'b', 'd']]
  const merged = mergeBootRecordings(r)
  assert.equal(new Set(mergeBootRecordings([r[2]!, r[0]!, r[1]!])), new Set(merged))
  assert.equal(merged, ['a', 'b', 'c', 'd'])
})

test.run()
