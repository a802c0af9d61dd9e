import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { keystream } from '../../../../bench/chunking/input.ts'
import { FEATURES, ResemblanceIndex, pickBases, resemblance, sketch } from '../../../../protocol/delta/resemblance.ts'

const chunk = (n: number, stream: number): Uint8Array => new Uint8Array(keystream(n, stream))
const A = chunk(65536, 11)
const B = chunk(65536, 12)
const C = chunk(65536, 13)

function editEvery (bytes: Uint8Array, stride: number): Uint8Array {
  const out = Uint8Array.from(bytes)
  for (let i = 0; i < out.length; i += stride) out[i] ^= 0x5a
  return out
}

test('sketches are deterministic and identical chunks match every feature', () => {
  assert.equal(sketch(A), sketch(Uint8Array.from(A)))
  assert.is(resemblance(sketch(A), sketch(A)), FEATURES)
})

test('resemblance falls with the share of content changed (table)', () => {
  const rows: Array<[string, Uint8Array, number, number]> = [
    ['a few bytes changed', editEvery(A, 16384), 9, FEATURES],
    ['an insertion in the middle', Uint8Array.from([...A.subarray(0, 30000), ...chunk(500, 14), ...A.subarray(30000)]), 9, FEATURES],
    ['every 24th byte changed (every 32-byte window broken)', editEvery(A, 24), 0, 1],
    ['every 64th byte changed (half the windows kept)', editEvery(A, 64), 2, 10],
    ['unrelated bytes', B, 0, 1]
  ]
  for (const [name, edited, min, max] of rows) {
    const r = resemblance(sketch(A), sketch(edited))
    assert.ok(r >= min && r <= max, `${name}: ${r} features equal, expected ${min}..${max}`)
  }
})

test('the index finds the similar chunk among unrelated ones, and ranks it first', () => {
  const index = new ResemblanceIndex()
  const hb = index.add(sketch(B))
  const ha = index.add(sketch(A))
  index.add(sketch(C))
  const found = index.candidates(sketch(editEvery(A, 20000)))
  assert.is(found[0]?.handle, ha)
  assert.ok(found.every((c) => c.handle !== hb))
  assert.equal(index.candidates(sketch(chunk(65536, 99))), [])
})

test('pickBases covers a chunk made of two old ones with both, not twice the same', () => {
  const mixed = Uint8Array.from([...A.subarray(0, 32768), ...B.subarray(32768)])
  const s = sketch(mixed)
  const cands = [
    { handle: 0, features: sketch(A).features },
    { handle: 1, features: sketch(Uint8Array.from(A)).features },
    { handle: 2, features: sketch(B).features },
    { handle: 3, features: sketch(C).features }
  ]
  const picked = pickBases(s, cands, 3)
  assert.ok(picked.includes(2), `picked ${picked}`)
  assert.ok(picked.includes(0) !== picked.includes(1), 'one copy of A, not both')
  assert.not.ok(picked.includes(3))
})

test('a chunk too short to sample has an all-zero sketch, never an error', () => {
  assert.equal([...sketch(Uint8Array.of(1, 2, 3)).features], new Array(FEATURES).fill(0))
})

test.run()
