import { createHash, randomBytes } from 'node:crypto'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { buildChunkTable, createChunkTableBuilder, indexHave, unitHave, unitOffset, unitsFullyHeld } from '../../../../node/pull/chunk-table.ts'

const sha = (s: string): string => createHash('sha256').update(s).digest('hex')
/** A list of `lengths` in image order, ids by name: the same name is the same chunk at another offset. */
function list (entries: Array<[string, number]>): Array<{ id: string, length: number, offset: number }> {
  let offset = 0
  return entries.map(([name, length]) => { const r = { id: sha(name), length, offset }; offset += length; return r })
}
function bits (n: number, set: number[]): Uint8Array {
  const b = new Uint8Array(Math.ceil(n / 8))
  for (const i of set) b[i >> 3]! |= 0x80 >> (i & 7)
  return b
}
const setBits = (b: Uint8Array, n: number): number[] => Array.from({ length: n }, (_, i) => i).filter((i) => (b[i >> 3]! & (0x80 >> (i & 7))) !== 0)

test('the same chunk at several offsets is one unit, written at every offset it occupies', () => {
  const refs = list([['zero', 100], ['a', 50], ['zero', 100], ['b', 70], ['zero', 100], ['a', 50]])
  const t = buildChunkTable(refs)
  assert.is(t.count, 6)
  assert.is(t.units, 3)
  assert.equal([...t.unitOf], [0, 1, 0, 2, 0, 1])
  assert.equal([...t.unitLengths], [100, 50, 70])
  assert.equal([...t.offsets], refs.map((r) => r.offset))
  const at = (u: number): number[] => [...t.unitIndexes.subarray(t.unitIndexStart[u]!, t.unitIndexStart[u + 1]!)]
  assert.equal(at(0), [0, 2, 4])
  assert.equal(at(1), [1, 5])
  assert.equal(at(2), [3])
  assert.is(unitOffset(t, 1), 100)
  refs.forEach((r, i) => { assert.is(t.idAt(i), r.id); assert.is(t.lengthAt(i), r.length) })
  assert.is(t.unitOfId(sha('zero')), 0)
  assert.is(t.unitOfId(sha('b')), 2)
})

test('lookups of absent ids and of strings that are not ids answer undefined', () => {
  const t = buildChunkTable(list([['a', 1], ['b', 2]]))
  assert.is(t.unitOfId(sha('c')), undefined)
  assert.is(t.hasId(sha('c')), false)
  for (const bad of ['', 'zz', sha('a').toUpperCase(), sha('a').slice(1), `${sha('a')}0`, `${sha('a').slice(0, 63)}g`]) {
    assert.is(t.unitOfId(bad), undefined, bad)
  }
  assert.is(t.unitOfIdBytes(new Uint8Array(31)), undefined)
  assert.is(t.unitOfIdBytes(Buffer.from(sha('b'), 'hex')), 1)
  assert.is(t.unitOfIdBytes(Buffer.from(sha('c'), 'hex')), undefined)
  assert.throws(() => t.unitId(2), RangeError)
  assert.throws(() => t.unitId(-1), RangeError)
})

test('ids that land in the same slot (same first bytes) are told apart, also across the wrap-around', () => {
  // Crafted ids (not hashes of anything): the index hashes by the first 4 bytes.
  const base = randomBytes(32)
  const ids: string[] = []
  for (let k = 0; k < 12; k++) { const b = Buffer.from(base); b[31] = k; ids.push(b.toString('hex')) }
  // and a cluster at the last slots, so probing wraps to slot 0
  for (let k = 0; k < 6; k++) { const b = Buffer.alloc(32, 0xff); b[30] = k; ids.push(b.toString('hex')) }
  let offset = 0
  const refs = ids.map((id) => { const r = { id, length: 10, offset }; offset += 10; return r })
  refs.push({ id: ids[3]!, length: 10, offset }) // a duplicate inside the cluster
  const t = buildChunkTable(refs)
  assert.is(t.units, ids.length)
  ids.forEach((id, u) => { assert.is(t.unitOfId(id), u, id); assert.is(t.unitId(u), id) })
  assert.is(t.unitOf[ids.length], 3)
  const near = Buffer.from(base); near[31] = 200
  assert.is(t.unitOfId(near.toString('hex')), undefined)
  const wrapped = Buffer.alloc(32, 0xff); wrapped[30] = 99
  assert.is(t.unitOfId(wrapped.toString('hex')), undefined)
})

test('a large table finds every id it holds and none it does not', () => {
  const n = 20_000
  const b = createChunkTableBuilder(n + 1000)
  const ids: string[] = []
  let offset = 0
  for (let i = 0; i < n; i++) { const id = randomBytes(32).toString('hex'); ids.push(id); b.add(id, 4096, offset); offset += 4096 }
  for (let i = 0; i < 1000; i++) { b.add(ids[i * 7]!, 4096, offset); offset += 4096 }
  const t = b.finish()
  assert.is(t.units, n)
  assert.is(t.count, n + 1000)
  for (let u = 0; u < n; u++) if (t.unitOfId(ids[u]!) !== u) assert.unreachable(`id ${u} not found`)
  for (let i = 0; i < 1000; i++) if (t.unitOfId(randomBytes(32).toString('hex')) !== undefined) assert.unreachable('absent id found')
  assert.is(t.unitOf[n + 5], 35)
})

test('idEquals compares a fresh digest with a unit id', () => {
  const t = buildChunkTable([{ id: sha('x'), length: 1, offset: 0 }])
  assert.ok(t.idEquals(0, createHash('sha256').update('x').digest()))
  assert.not.ok(t.idEquals(0, createHash('sha256').update('y').digest()))
  assert.not.ok(t.idEquals(1, createHash('sha256').update('x').digest()))
  assert.not.ok(t.idEquals(0, new Uint8Array(16)))
})

test('the builder refuses a list longer or shorter than its count, and strings that are not ids', () => {
  const b = createChunkTableBuilder(1)
  assert.throws(() => b.add('nope', 1, 0), TypeError)
  b.add(sha('a'), 1, 0)
  assert.throws(() => b.add(sha('b'), 1, 1), RangeError)
  assert.throws(() => createChunkTableBuilder(2).finish(), RangeError)
  assert.throws(() => createChunkTableBuilder(-1), TypeError)
  assert.is(createChunkTableBuilder(0).finish().units, 0)
})

test('have-bitfields convert between manifest indexes and units; a unit is held only when every offset is', () => {
  const t = buildChunkTable(list([['zero', 8], ['a', 8], ['zero', 8], ['b', 8]]))
  assert.equal(setBits(unitHave(t, bits(4, [2, 3])), 3), [0, 2])
  const h = indexHave(t, bits(3, [0]))
  assert.equal(setBits(h.bits, 4), [0, 2])
  assert.is(h.count, 2)
  assert.equal(setBits(unitsFullyHeld(t, bits(4, [0, 1, 3])), 3), [1, 2], 'zero lacks its index 2')
  assert.equal(setBits(unitsFullyHeld(t, bits(4, [0, 1, 2])), 3), [0, 1])
})

test.run()
