import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chunkStream, chunkStreamParallel, createBoundaryFinder, findBoundary } from '../../../../protocol/chunking/chunker.ts'
import type { Chunk } from '../../../../protocol/chunking/chunker.ts'
import { chunkId } from '../../../../protocol/store/chunk-id.ts'
import { DEFAULT_CHUNKING } from '../../../../protocol/chunking/chunking-params.ts'
import type { ChunkingParams } from '../../../../protocol/chunking/chunking-params.ts'
import { createHashPool } from '../../../../protocol/chunking/hash-pool.ts'
import { rejects } from '../../../helpers/rejects.ts'

/** Deterministic pseudo-random bytes (xorshift32), so every run sees the same input. */
function pseudoRandom (length: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(length)
  const words = new Uint32Array(out.buffer, 0, length >>> 2)
  let x = seed | 0
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    words[i] = x
  }
  for (let i = words.length * 4; i < length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; out[i] = x & 0xff }
  return out
}

async function * split (bytes: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  let k = 0
  for (let o = 0; o < bytes.length;) {
    const n = sizes[k++ % sizes.length]
    yield bytes.subarray(o, o + n)
    o += n
  }
}

async function collect (it: AsyncIterable<Chunk>): Promise<Chunk[]> {
  const out: Chunk[] = []
  for await (const c of it) out.push(c)
  return out
}

function referenceCuts (bytes: Uint8Array, params: ChunkingParams): number[] {
  const cuts: number[] = []
  for (let s = 0; s < bytes.length;) { s = findBoundary(bytes, s, bytes.length, params); cuts.push(s) }
  return cuts
}

const SMALL: ChunkingParams = { minBytes: 256, avgBytes: 1024, maxBytes: 4096 }
const BIG = pseudoRandom(8 * 1024 * 1024)
const ONE_MIB = pseudoRandom(1024 * 1024, 42)

test('chunks cover the input exactly: contiguous offsets, ids are SHA-256 of the bytes, bytes intact afterwards', async () => {
  const chunks = await collect(chunkStream(split(BIG, [65536])))
  let offset = 0
  for (const c of chunks) {
    assert.is(c.offset, offset)
    assert.is(c.length, c.bytes.length)
    offset += c.length
  }
  assert.is(offset, BIG.length)
  // checked after the whole stream: the chunker neither mutated nor reused any chunk's bytes
  for (const c of chunks) {
    assert.is(c.id, chunkId(c.bytes))
    assert.ok(Buffer.from(c.bytes).equals(BIG.subarray(c.offset, c.offset + c.length)))
  }
  assert.ok(chunks.length > 60 && chunks.length < 200, `${chunks.length} chunks of 8 MiB at 64 KiB average`)
})

test('every chunk but the last is within [min, max]; a zero region is cut at max', async () => {
  const input = new Uint8Array(3 * 1024 * 1024)
  input.set(ONE_MIB, 0) // random first MiB, then zeros: the gear hash of zeros never matches
  const chunks = await collect(chunkStream(split(input, [100_000])))
  chunks.forEach((c, k) => {
    assert.ok(c.length <= DEFAULT_CHUNKING.maxBytes, `chunk ${k}: ${c.length} > max`)
    if (k < chunks.length - 1) assert.ok(c.length >= DEFAULT_CHUNKING.minBytes, `chunk ${k}: ${c.length} < min`)
  })
  const zeroChunks = chunks.filter((c) => c.offset >= 1024 * 1024 + DEFAULT_CHUNKING.maxBytes && c.offset + c.length < input.length)
  assert.ok(zeroChunks.length >= 5)
  for (const c of zeroChunks) assert.is(c.length, DEFAULT_CHUNKING.maxBytes)
})

const SPLITS: Array<[string, number[]]> = [
  ['one buffer', [ONE_MIB.length]],
  ['1 byte', [1]],
  ['7 bytes', [7]],
  ['odd sizes', [1, 4095, 3, 70_000, 256, 257, 12_345]],
  ['64 KiB', [65536]],
  ['300 KB (over the Wasm window)', [300_000]]
]
for (const [name, sizes] of SPLITS) {
  test(`same chunks whatever the buffer split: ${name}`, async () => {
    const input = sizes[0] === 1 ? ONE_MIB.subarray(0, 64 * 1024) : ONE_MIB
    const chunks = await collect(chunkStream(split(input, sizes), SMALL))
    assert.equal(chunks.map((c) => c.offset + c.length), referenceCuts(input, SMALL))
    for (const c of chunks) assert.is(c.id, chunkId(input.subarray(c.offset, c.offset + c.length)))
  })
}

test('the Wasm and the JavaScript finder cut identically, for several parameter sets', () => {
  const sets: ChunkingParams[] = [SMALL, DEFAULT_CHUNKING, { minBytes: 64, avgBytes: 128, maxBytes: 256 }, { minBytes: 8192, avgBytes: 32768, maxBytes: 131072 }]
  for (const params of sets) {
    const expected = referenceCuts(BIG, params)
    for (const engine of ['wasm', 'js'] as const) {
      const finder = createBoundaryFinder(params, { engine })
      const cuts: number[] = []
      for (let o = 0; o < BIG.length; o += 200_000) {
        for (const c of finder.feed(BIG.subarray(o, o + 200_000))) cuts.push(o + c)
      }
      if (finder.openBytes > 0) cuts.push(BIG.length)
      assert.equal(cuts, expected, `${engine} ${JSON.stringify(params)}`)
    }
  }
})

test('same input, same ids: run twice, and through the worker-hashing chunker', async () => {
  const a = await collect(chunkStream(split(BIG, [65536])))
  const b = await collect(chunkStream(split(BIG, [1_000_003])))
  const c = await collect(chunkStreamParallel(split(BIG, [131072])))
  assert.equal(b.map((x) => x.id), a.map((x) => x.id))
  assert.equal(c.map((x) => [x.id, x.offset, x.length]), a.map((x) => [x.id, x.offset, x.length]))
})

test('empty input gives no chunks; an empty buffer in the stream is ignored', async () => {
  assert.equal(await collect(chunkStream(split(new Uint8Array(0), [1]))), [])
  assert.equal(await collect(chunkStreamParallel(split(new Uint8Array(0), [1]))), [])
  async function * withEmpty (): AsyncGenerator<Uint8Array> { yield new Uint8Array(0); yield ONE_MIB; yield new Uint8Array(0) }
  assert.equal((await collect(chunkStream(withEmpty(), SMALL))).map((c) => c.offset + c.length), referenceCuts(ONE_MIB, SMALL))
})

test('input shorter than min is one chunk', async () => {
  const input = ONE_MIB.subarray(0, DEFAULT_CHUNKING.minBytes - 1)
  const chunks = await collect(chunkStream(split(input, [1000])))
  assert.is(chunks.length, 1)
  assert.is(chunks[0].length, input.length)
  assert.is(chunks[0].id, chunkId(input))
  assert.is(findBoundary(input, 0, input.length), input.length)
})

function edited (input: Uint8Array, at: number, remove: number, insert: Uint8Array): Uint8Array {
  const out = new Uint8Array(input.length - remove + insert.length)
  out.set(input.subarray(0, at), 0)
  out.set(insert, at)
  out.set(input.subarray(at + remove), at + insert.length)
  return out
}

// Resynchronisation threshold: at most 4 of the ~120 chunks of 8 MiB change (>= 96 % survive).
// An edit changes its own chunk, and with normalized chunking a cut's mask depends on its
// distance from the chunk start, so the next one or two cuts can move too before the cuts
// fall back onto the old ones.
const EDITS: Array<[string, number, number, number]> = [
  ['insert 100 bytes near the start', 1000, 0, 100],
  ['delete 100 bytes near the start', 5000, 100, 0],
  ['insert 1 byte in the middle', 4 * 1024 * 1024, 0, 1],
  ['replace 3 bytes in the middle', 4 * 1024 * 1024 + 17, 3, 3],
  ['insert 200 KiB near the start', 70_000, 0, 200 * 1024]
]
for (const [name, at, remove, insertBytes] of EDITS) {
  test(`boundaries resynchronise: ${name}`, async () => {
    const before = await collect(chunkStream(split(BIG, [65536])))
    const after = await collect(chunkStream(split(edited(BIG, at, remove, pseudoRandom(insertBytes, 7)), [65536])))
    const afterIds = new Set(after.map((c) => c.id))
    const lost = before.filter((c) => !afterIds.has(c.id))
    assert.ok(lost.length <= 4, `${lost.length} of ${before.length} chunks changed`)
    // and every chunk after the edit's neighbourhood is unchanged, in order
    const tail = before.filter((c) => c.offset > at + 2 * DEFAULT_CHUNKING.maxBytes)
    const shift = insertBytes - remove
    const afterByOffset = new Map(after.map((c) => [c.offset, c.id]))
    for (const c of tail) assert.is(afterByOffset.get(c.offset + shift), c.id)
  })
}

test('an aborted signal stops the stream with its reason', async () => {
  const ac = new AbortController()
  ac.abort()
  await rejects(collect(chunkStream(split(ONE_MIB, [4096]), SMALL, { signal: ac.signal })), { name: 'AbortError' })

  const mid = new AbortController()
  let seen = 0
  await rejects((async () => {
    for await (const c of chunkStream(split(BIG, [65536]), undefined, { signal: mid.signal })) {
      seen++
      if (c.offset > 1024 * 1024) mid.abort()
    }
  })(), { name: 'AbortError' })
  assert.ok(seen > 5 && seen < 40, `${seen} chunks before the abort took effect`)
})

test('aborting the worker-hashing chunker rejects and stops its worker', async () => {
  const ac = new AbortController()
  let seen = 0
  await rejects((async () => {
    for await (const c of chunkStreamParallel(split(BIG, [65536]), undefined, { signal: ac.signal })) {
      seen++
      if (c.offset > 2 * 1024 * 1024) ac.abort()
    }
  })(), { name: 'AbortError' })
  assert.ok(seen > 5)
  // the file ending (uvu exits by itself) shows no worker was left running
})

test('breaking out of the worker-hashing chunker early stops its worker', async () => {
  let n = 0
  for await (const c of chunkStreamParallel(split(BIG, [65536]))) {
    assert.is(c.id, chunkId(c.bytes))
    if (++n === 10) break
  }
  assert.is(n, 10)
})

const BAD_PARAMS: Array<[string, unknown]> = [
  ['min >= avg', { minBytes: 65536, avgBytes: 65536, maxBytes: 262144 }],
  ['avg not a power of two', { minBytes: 1000, avgBytes: 3000, maxBytes: 9000 }],
  ['max <= avg', { minBytes: 1024, avgBytes: 4096, maxBytes: 4096 }],
  ['min below the floor', { minBytes: 1, avgBytes: 128, maxBytes: 256 }],
  ['max above the ceiling', { minBytes: 16384, avgBytes: 65536, maxBytes: 64 * 1024 * 1024 }],
  ['not integers', { minBytes: 1024.5, avgBytes: 4096, maxBytes: 16384 }],
  ['missing fields', { avgBytes: 4096 }]
]
for (const [name, params] of BAD_PARAMS) {
  test(`invalid parameters are a TypeError: ${name}`, async () => {
    const p = params as ChunkingParams
    assert.throws(() => createBoundaryFinder(p), TypeError)
    assert.throws(() => findBoundary(ONE_MIB, 0, 100, p), TypeError)
    await rejects(collect(chunkStream(split(ONE_MIB, [4096]), p)), { name: 'TypeError' })
    await rejects(collect(chunkStreamParallel(split(ONE_MIB, [4096]), p)), { name: 'TypeError' })
  })
}

test('a source yielding something other than bytes is a TypeError; findBoundary checks its range', async () => {
  async function * bad (): AsyncGenerator<Uint8Array> { yield 'text' as unknown as Uint8Array }
  await rejects(collect(chunkStream(bad())), { name: 'TypeError' })
  assert.throws(() => findBoundary(ONE_MIB, 10, 5), TypeError)
  assert.throws(() => findBoundary(ONE_MIB, 0, ONE_MIB.length + 1), TypeError)
})

test('hash pool: ids in order across two workers; abort and close reject; close twice is fine', async () => {
  const pool = createHashPool({ workers: 2 })
  try {
    const chunks = [ONE_MIB.subarray(0, 10), new Uint8Array(0), ONE_MIB.subarray(5, 70_000), BIG.subarray(1000, 300_000)]
    const [a, b] = await Promise.all([pool.hash(chunks), pool.hash(chunks.slice(1))])
    assert.equal(a, chunks.map(chunkId))
    assert.equal(b, chunks.slice(1).map(chunkId))
    const ac = new AbortController()
    const pending = pool.hash([BIG], { signal: ac.signal })
    ac.abort()
    await rejects(pending, { name: 'AbortError' })
    assert.equal(await pool.hash([ONE_MIB]), [chunkId(ONE_MIB)], 'still usable after an aborted request')
  } finally {
    await pool.close()
  }
  await pool.close()
  await rejects(pool.hash([ONE_MIB]), { message: /closed/ })
  assert.throws(() => createHashPool({ workers: 0 }), TypeError)
})

test.run()
