import { createHash } from 'node:crypto'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chunkId } from '../../../../protocol/store/chunk-id.ts'
import {
  LIST_PART_MAGIC, MAX_PART_BYTES, MAX_PART_ENTRIES, MIN_PART_ENTRIES, TARGET_PART_ENTRIES, createChunkListBuilder,
  decodeListPart, isCutPoint, readChunkList
} from '../../../../protocol/manifest/chunk-list.ts'
import type { ChunkRef, FetchPart, ListPart } from '../../../../protocol/manifest/chunk-list.ts'
import { DEFAULT_CHUNKING, MAX_CHUNK_BYTES_CEILING } from '../../../../protocol/chunking/chunking-params.ts'
import type { Manifest } from '../../../../protocol/manifest/manifest.ts'
import { encodeVarint } from '../../../../protocol/wire/varint.ts'
import { rejects, throwsCode } from '../../../helpers/rejects.ts'

/** Deterministic synthetic refs: ids are SHA-256 of a label, lengths spread over min..max. */
function refs (n: number, label = 'c'): ChunkRef[] {
  const out: ChunkRef[] = []
  for (let i = 0; i < n; i++) {
    out.push({ id: createHash('sha256').update(`${label}${i}`).digest('hex'), length: 16384 + ((i * 7919) % 98304) })
  }
  return out
}

function build (list: Iterable<ChunkRef>): ListPart[] {
  const b = createChunkListBuilder()
  const parts: ListPart[] = []
  for (const r of list) {
    const p = b.add(r)
    if (p !== undefined) parts.push(p)
  }
  const last = b.finish()
  if (last !== undefined) parts.push(last)
  return parts
}

function manifestOf (parts: ListPart[], list: ChunkRef[]): Manifest {
  return {
    image: 'test',
    version: 1,
    totalBytes: list.reduce((s, r) => s + r.length, 0),
    chunking: { ...DEFAULT_CHUNKING },
    chunkCount: list.length,
    createdMs: 0,
    expiresMs: 1,
    keyId: '0'.repeat(32),
    parts: parts.map((p) => ({ id: p.id, bytes: p.bytes.length, entries: p.entries }))
  }
}

function storeOf (parts: ListPart[]): FetchPart {
  const store = new Map(parts.map((p) => [p.id, p.bytes]))
  return async (id) => {
    const bytes = store.get(id)
    if (bytes === undefined) throw new Error(`no part ${id}`)
    return bytes
  }
}

async function collect<T> (it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

const LIST = refs(20_000)
const PARTS = build(LIST)

test('parts decode back to the same list, each named by its SHA-256', () => {
  assert.ok(PARTS.length > 10, `${PARTS.length} parts`)
  const back: ChunkRef[] = []
  for (const p of PARTS) {
    assert.is(p.id, chunkId(p.bytes))
    const decoded = decodeListPart(p.bytes, p.id)
    assert.is(decoded.length, p.entries)
    back.push(...decoded)
  }
  assert.equal(back, LIST)
})

test('a part ends where the cut rule says, and nowhere earlier', () => {
  for (const [i, p] of PARTS.entries()) {
    const entries = decodeListPart(p.bytes)
    if (i < PARTS.length - 1) assert.ok(isCutPoint(entries[entries.length - 1].id, entries.length), `part ${i} ends off a cut`)
    for (let j = 0; j < entries.length - 1; j++) assert.not.ok(isCutPoint(entries[j].id, j + 1), `early cut in part ${i} at ${j}`)
  }
  const avg = LIST.length / PARTS.length
  assert.ok(avg > 200 && avg < 400, `average ${avg} entries per part`)
})

const ofLeadingZeroBits = (bits: number): ChunkRef => ({ id: (0x800 >>> bits).toString(16).padStart(3, '0') + 'f'.repeat(61), length: 65536 })
const PART_SIZES: Array<[string, ChunkRef, number]> = [
  ['no leading zero bits: forced at MAX_PART_ENTRIES', ofLeadingZeroBits(0), MAX_PART_ENTRIES],
  ['5 zero bits: still forced at MAX_PART_ENTRIES', ofLeadingZeroBits(5), MAX_PART_ENTRIES],
  ['6 zero bits: at TARGET_PART_ENTRIES', ofLeadingZeroBits(6), TARGET_PART_ENTRIES],
  ['9 zero bits: at TARGET_PART_ENTRIES', ofLeadingZeroBits(9), TARGET_PART_ENTRIES],
  ['10 zero bits: at MIN_PART_ENTRIES', ofLeadingZeroBits(10), MIN_PART_ENTRIES]
]
for (const [name, ref, size] of PART_SIZES) {
  test(`a run of one id with ${name}`, () => {
    const parts = build(Array.from({ length: size * 2 + 5 }, () => ref))
    assert.equal(parts.map((p) => p.entries), [size, size, 5])
    assert.is(parts[0].id, parts[1].id, 'identical runs give identical parts')
    assert.ok(parts[0].bytes.length <= MAX_PART_BYTES)
  })
}

test('boundaries resynchronise: inserting or deleting one entry near the start of a 100k list changes few parts', () => {
  const base = refs(100_000)
  const before = build(base)
  const extra = refs(1, 'inserted')[0]
  for (const [name, edited] of [
    ['insert', [...base.slice(0, 10), extra, ...base.slice(10)]],
    ['delete', [...base.slice(0, 10), ...base.slice(11)]],
    ['replace in the middle', [...base.slice(0, 50_000), extra, ...base.slice(50_001)]]
  ] as Array<[string, ChunkRef[]]>) {
    const after = build(edited)
    const old = new Set(before.map((p) => p.id))
    const changed = after.filter((p) => !old.has(p.id))
    assert.ok(changed.length <= 2, `${name}: ${changed.length} of ${after.length} parts changed`)
    assert.ok(Math.abs(after.length - before.length) <= 1, name)
  }
})

test('empty list: finish returns nothing', () => {
  assert.is(createChunkListBuilder().finish(), undefined)
})

const BAD_REFS: Array<[string, unknown]> = [
  ['upper-case id', { id: 'A'.repeat(64), length: 1 }],
  ['short id', { id: 'ab', length: 1 }],
  ['zero length', { id: 'a'.repeat(64), length: 0 }],
  ['fractional length', { id: 'a'.repeat(64), length: 1.5 }],
  ['length above the ceiling', { id: 'a'.repeat(64), length: MAX_CHUNK_BYTES_CEILING + 1 }],
  ['undefined', undefined]
]
for (const [name, ref] of BAD_REFS) {
  test(`builder refuses ${name} with TypeError`, () => {
    assert.throws(() => createChunkListBuilder().add(ref as ChunkRef), TypeError)
  })
}

test('builder refuses entries after finish', () => {
  const b = createChunkListBuilder()
  b.add(LIST[0])
  b.finish()
  assert.throws(() => b.add(LIST[1]), TypeError)
})

const ID = new Uint8Array(32).fill(0xab)
const cat = (...xs: Array<Uint8Array | number[]>): Uint8Array => Uint8Array.from(xs.flatMap((x) => [...x]))
const BAD_PARTS: Array<[string, Uint8Array]> = [
  ['no bytes', new Uint8Array(0)],
  ['bad magic', cat([0x42, 0x43, 0x4d, 0x01], ID, [1])],
  ['unknown format version', cat([0x42, 0x43, 0x4c, 0x02], ID, [1])],
  ['no entries', cat(LIST_PART_MAGIC)],
  ['truncated id', cat(LIST_PART_MAGIC, ID.subarray(0, 31))],
  ['missing length', cat(LIST_PART_MAGIC, ID)],
  ['truncated varint', cat(LIST_PART_MAGIC, ID, [0x80])],
  ['non-minimal varint', cat(LIST_PART_MAGIC, ID, [0x81, 0x00])],
  ['zero-length chunk', cat(LIST_PART_MAGIC, ID, [0])],
  ['chunk above the ceiling', cat(LIST_PART_MAGIC, ID, encodeVarint(MAX_CHUNK_BYTES_CEILING + 1))],
  ['trailing partial entry', cat(LIST_PART_MAGIC, ID, [1], [0xab])],
  ['too many entries', cat(LIST_PART_MAGIC, ...Array.from({ length: MAX_PART_ENTRIES + 1 }, () => cat(ID, [1])))],
  ['oversized', cat(LIST_PART_MAGIC, new Uint8Array(MAX_PART_BYTES))]
]
for (const [name, bytes] of BAD_PARTS) {
  test(`decodeListPart: ${name} → ERR_MANIFEST_MALFORMED`, () => {
    throwsCode(() => decodeListPart(bytes), 'ERR_MANIFEST_MALFORMED')
  })
}

test('decodeListPart: bytes that do not hash to the expected id → ERR_CHUNK_CORRUPT', () => {
  const bad = PARTS[0].bytes.slice()
  bad[40] ^= 1
  throwsCode(() => decodeListPart(bad, PARTS[0].id), 'ERR_CHUNK_CORRUPT')
  throwsCode(() => decodeListPart(PARTS[0].bytes, PARTS[1].id), 'ERR_CHUNK_CORRUPT')
})

test('readChunkList streams every entry with its offset, passing maxBytes to the fetcher', async () => {
  const manifest = manifestOf(PARTS, LIST)
  const seen: number[] = []
  const fetch = storeOf(PARTS)
  const out = await collect(readChunkList(manifest, async (id, opts) => {
    seen.push(opts.maxBytes as number)
    return await fetch(id, opts)
  }))
  let offset = 0
  assert.is(out.length, LIST.length)
  for (const [i, r] of out.entries()) {
    assert.equal(r, { ...LIST[i], offset })
    offset += r.length
  }
  assert.equal(seen, manifest.parts.map((p) => p.bytes))
})

test('readChunkList of an empty image yields nothing', async () => {
  assert.equal(await collect(readChunkList({ ...manifestOf([], []), totalBytes: 0 }, storeOf([]))), [])
})

interface Lie { name: string, code: string, tweak: (m: Manifest, fetch: FetchPart) => [Manifest, FetchPart] }
const LIES: Lie[] = [
  {
    name: 'a part whose bytes do not match its id',
    code: 'ERR_CHUNK_CORRUPT',
    tweak: (m, fetch) => [m, async (id, o) => { const b = (await fetch(id, o)).slice(); if (id === m.parts[3].id) b[b.length - 1] ^= 0x40; return b }]
  },
  {
    name: 'a truncated part',
    code: 'ERR_CHUNK_CORRUPT',
    tweak: (m, fetch) => [m, async (id, o) => { const b = await fetch(id, o); return id === m.parts[1].id ? b.subarray(0, b.length - 36) : b }]
  },
  {
    name: 'another (valid) part in place of the asked one',
    code: 'ERR_CHUNK_CORRUPT',
    tweak: (m, fetch) => [m, async (id, o) => await fetch(id === m.parts[2].id ? m.parts[3].id : id, o)]
  },
  {
    name: 'a manifest whose entry count for a part is off by one',
    code: 'ERR_MANIFEST_MALFORMED',
    tweak: (m, fetch) => [{ ...m, parts: m.parts.map((p, i) => i === 2 ? { ...p, entries: p.entries + 1 } : p) }, fetch]
  },
  {
    name: 'a manifest whose byte count for a part is off',
    code: 'ERR_MANIFEST_MALFORMED',
    tweak: (m, fetch) => [{ ...m, parts: m.parts.map((p, i) => i === 0 ? { ...p, bytes: p.bytes + 1 } : p) }, fetch]
  },
  {
    name: 'a manifest whose total size is one byte short',
    code: 'ERR_MANIFEST_MALFORMED',
    tweak: (m, fetch) => [{ ...m, totalBytes: m.totalBytes - 1 }, fetch]
  },
  {
    name: 'a manifest whose total size is one byte long',
    code: 'ERR_MANIFEST_MALFORMED',
    tweak: (m, fetch) => [{ ...m, totalBytes: m.totalBytes + 1 }, fetch]
  },
  {
    name: 'chunks larger than the manifest\'s maxBytes',
    code: 'ERR_MANIFEST_MALFORMED',
    tweak: (m, fetch) => [{ ...m, chunking: { ...m.chunking, maxBytes: 65536 } }, fetch]
  }
]
for (const lie of LIES) {
  test(`readChunkList refuses ${lie.name} → ${lie.code}`, async () => {
    const [m, fetch] = lie.tweak(manifestOf(PARTS, LIST), storeOf(PARTS))
    await rejects(collect(readChunkList(m, fetch)), { code: lie.code })
  })
}

test('readChunkList stops on the caller\'s signal and aborts fetches in flight when the consumer stops', async () => {
  const manifest = manifestOf(PARTS, LIST)
  const ac = new AbortController()
  const signals: AbortSignal[] = []
  const fetch = storeOf(PARTS)
  const it = readChunkList(manifest, async (id, o) => { signals.push(o.signal as AbortSignal); return await fetch(id, o) }, { signal: ac.signal, prefetch: 3 })
  await it.next()
  assert.is(signals.length, 3, 'prefetches three parts')
  await it.return(undefined)
  assert.ok(signals.every((s) => s.aborted), 'consumer stopped: in-flight fetches aborted')

  const ac2 = new AbortController()
  const it2 = readChunkList(manifest, fetch, { signal: ac2.signal })
  ac2.abort()
  await rejects(it2.next(), { name: 'AbortError' })
})

test.run()
