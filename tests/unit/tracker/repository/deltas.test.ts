// computeDeltas over chunks in memory: which chunks get deltas, against what, and the caps.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { applyDelta, chunkId, deltaPath } from '../../../../protocol/index.ts'
import { keystream } from '../../../../bench/chunking/input.ts'
import { computeDeltas } from '../../../../tracker/repository/deltas.ts'

const chunk = (n: number, stream: number): Uint8Array => new Uint8Array(keystream(n, stream))
const OLD = Array.from({ length: 8 }, (_, i) => chunk(65536, 100 + i))
const patched = (c: Uint8Array, at: number): Uint8Array => { const x = Uint8Array.from(c); x.set([1, 2, 3, 4], at); return x }

function world (chunks: Uint8Array[]): { ids: string[], read: (id: string) => Promise<Uint8Array>, written: Map<string, Uint8Array> } {
  const byId = new Map(chunks.map((c) => [chunkId(c), c]))
  return { ids: chunks.map(chunkId), read: async (id) => byId.get(id) as Uint8Array, written: new Map() }
}

test('new chunks similar to old ones get deltas that rebuild them; unrelated new chunks do not', async () => {
  const NEW = [patched(OLD[2], 100), patched(OLD[5], 60000), chunk(65536, 999)]
  const w = world([...OLD, ...NEW])
  const version = [w.ids[0], w.ids[1], chunkId(NEW[0]), w.ids[3], w.ids[4], chunkId(NEW[1]), w.ids[6], chunkId(NEW[2]), w.ids[7]]
  const r = await computeDeltas({ version, earlier: [w.ids.slice(0, 8)], read: w.read, write: async (p, b) => { w.written.set(p, b) }, level: 3 })
  assert.is(r.newChunks, 3)
  assert.is(r.entries.length, 2)
  const byTarget = new Map(r.entries.map((e) => [e.target, e]))
  assert.equal(byTarget.get(chunkId(NEW[0]))?.bases[0], w.ids[2])
  assert.equal(byTarget.get(chunkId(NEW[1]))?.bases[0], w.ids[5])
  assert.not.ok(byTarget.has(chunkId(NEW[2])), 'nothing in common: no delta')
  for (const e of r.entries) {
    const d = w.written.get(deltaPath(e.target, e.bases)) as Uint8Array
    assert.is(d.byteLength, e.deltaBytes)
    const rebuilt = applyDelta(d, (id) => OLD.find((c) => chunkId(c) === id))
    assert.is(chunkId(rebuilt), e.target)
  }
  assert.ok(r.deltaBytes < r.replacedStoredBytes / 100)
})

test('a chunk in an earlier version is never a target; repeats of a new chunk are coded once', async () => {
  const NEW = patched(OLD[1], 5)
  const w = world([...OLD, NEW])
  const r = await computeDeltas({ version: [w.ids[0], chunkId(NEW), chunkId(NEW), w.ids[1]], earlier: [w.ids.slice(0, 8)], read: w.read, write: async () => {}, level: 3 })
  assert.is(r.newChunks, 1)
  assert.is(r.entries.length, 1)
})

test('no earlier version, or a pool capped to nothing similar: no deltas', async () => {
  const NEW = patched(OLD[7], 5)
  const w = world([...OLD, NEW])
  const none = await computeDeltas({ version: [chunkId(NEW)], earlier: [], read: w.read, write: async () => {}, level: 3 })
  assert.is(none.entries.length, 0)
  const capped = await computeDeltas({ version: [chunkId(NEW)], earlier: [w.ids.slice(0, 8)], read: w.read, write: async () => {}, level: 3, maxPoolChunks: 7 })
  assert.is(capped.poolChunks, 7)
  assert.is(capped.entries.length, 0, 'chunk 7 is past the cap')
})

test('bad options are TypeErrors', async () => {
  const w = world(OLD)
  for (const maxBases of [0, 5, 1.5]) {
    try { await computeDeltas({ version: [], earlier: [], read: w.read, write: async () => {}, maxBases }); assert.unreachable() } catch (err) { assert.instance(err, TypeError) }
  }
})

test.run()
