import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chunkId } from '../../../../protocol/store/chunk-id.ts'
import { keystream } from '../../../../bench/chunking/input.ts'
import { DELTA_CHECK_BYTES, applyDelta, decodeDeltaHeader, encodeDelta, encodeDeltaAsync } from '../../../../protocol/delta/delta-codec.ts'
import { MAX_DELTA_BASES } from '../../../../protocol/delta/constants.ts'
import { encodeStoredChunk } from '../../../../protocol/store/chunk-codec.ts'
import { throwsCode } from '../../../helpers/rejects.ts'

const base = (n: number, stream: number): { id: string, bytes: Uint8Array } => {
  const bytes = new Uint8Array(keystream(n, stream))
  return { id: chunkId(bytes), bytes }
}
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b)
const A = base(65536, 1)
const B = base(40000, 2)
const held = new Map([[A.id, A.bytes], [B.id, B.bytes]])
const get = (id: string): Uint8Array | undefined => held.get(id)

/** A's bytes with two bytes changed: the 28-byte case. */
function edited (): Uint8Array {
  const t = Uint8Array.from(A.bytes)
  t[100] ^= 1
  t[40000] ^= 2
  return t
}
/** Half of A then half of B: needs both bases. */
const MIXED = Uint8Array.from([...A.bytes.subarray(0, 30000), ...B.bytes.subarray(10000, 40000)])

const CASES: Array<{ name: string, target: Uint8Array, bases: Array<{ id: string, bytes: Uint8Array }>, maxBytes: number }> = [
  { name: 'two bytes changed, one base', target: edited(), bases: [A], maxBytes: 200 },
  { name: 'a mix of two bases', target: MIXED, bases: [A, B], maxBytes: 300 },
  { name: 'a one-byte target', target: Uint8Array.of(7), bases: [B], maxBytes: 120 },
  { name: 'an unrelated target still round-trips', target: new Uint8Array(keystream(5000, 3)), bases: [A], maxBytes: 6000 }
]

for (const c of CASES) {
  test(`round trip: ${c.name}`, async () => {
    const d = encodeDelta(c.target, c.bases, { level: 3 })
    assert.ok(d.byteLength <= c.maxBytes, `${d.byteLength} bytes`)
    const h = decodeDeltaHeader(d)
    assert.is(h.target, chunkId(c.target))
    assert.equal(h.bases, c.bases.map((b) => ({ id: b.id, length: b.bytes.byteLength })))
    assert.ok(same(applyDelta(d, get, { target: chunkId(c.target), bases: c.bases.map((b) => b.id) }), c.target))
    assert.ok(same(await encodeDeltaAsync(c.target, c.bases, { level: 3 }), d), 'the async encoder writes the same bytes')
  })
}

test('a delta is far smaller than the chunk stored whole', () => {
  const d = encodeDelta(edited(), [A])
  assert.ok(d.byteLength < 120, `${d.byteLength}`)
  assert.ok(encodeStoredChunk(edited()).byteLength > 65000)
})

test('every bit flip of a delta is refused with a coded error', () => {
  for (const c of CASES.slice(0, 3)) {
    const d = encodeDelta(c.target, c.bases, { level: 3 })
    for (let i = 0; i < d.byteLength * 8; i++) {
      const x = Uint8Array.from(d)
      x[i >> 3] ^= 1 << (i & 7)
      throwsCode(() => applyDelta(x, get), 'ERR_DELTA_MALFORMED')
    }
  }
})

test('every truncation, and any byte appended, is refused', () => {
  const d = encodeDelta(MIXED, [A, B], { level: 3 })
  for (let n = 0; n < d.byteLength; n++) throwsCode(() => applyDelta(d.subarray(0, n), get), 'ERR_DELTA_MALFORMED')
  throwsCode(() => applyDelta(Uint8Array.from([...d, 0]), get), 'ERR_DELTA_MALFORMED')
})

/** Re-frames a delta with a valid check after `edit`, to reach the checks behind the check bytes. */
async function reframed (d: Uint8Array, edit: (body: Uint8Array) => Uint8Array): Promise<Uint8Array> {
  const { createHash } = await import('node:crypto')
  const body = edit(Uint8Array.from(d.subarray(0, d.byteLength - DELTA_CHECK_BYTES)))
  return Uint8Array.from([...body, ...createHash('sha256').update(body).digest().subarray(0, DELTA_CHECK_BYTES)])
}

test('a delta against the wrong base is refused after decoding: the output does not hash to the target', async () => {
  const d = encodeDelta(edited(), [A], { level: 3 })
  // a base of the same length but other bytes, offered under A's id (what a node with a damaged copy holds)
  const wrong = new Uint8Array(keystream(65536, 9))
  throwsCode(() => applyDelta(d, () => wrong), 'ERR_DELTA_BASE_CORRUPT')
  // a delta that names a base the node holds, but was coded against other bytes (a lying sender)
  const other = chunkId(wrong)
  const swapped = await reframed(d, (body) => { body.set(Buffer.from(other, 'hex'), 5 + 32 + 3 + 1); return body })
  const err = (() => { try { applyDelta(swapped, (id) => id === other ? wrong : undefined) } catch (e) { return e as { code: string, peerFault: boolean } } })()
  assert.is(err?.code, 'ERR_DELTA_CORRUPT', 'our base is sound, so the delta is at fault')
  assert.is(err?.peerFault, true)
  const corrupt = await reframed(d, (body) => { body[body.length - 3] ^= 0x40; return body })
  const e2 = (() => { try { applyDelta(corrupt, get) } catch (e) { return e as { code: string, peerFault: boolean } } })()
  assert.ok(e2?.code === 'ERR_DELTA_CORRUPT' || e2?.code === 'ERR_DELTA_MALFORMED', String(e2?.code))
  assert.is(e2?.peerFault, true)
})

test('a base the node does not hold: ERR_DELTA_BASE_MISSING, not the sender\'s fault', () => {
  const d = encodeDelta(MIXED, [A, B], { level: 3 })
  try {
    applyDelta(d, (id) => id === A.id ? A.bytes : undefined)
    assert.unreachable()
  } catch (err) {
    assert.is((err as { code: string }).code, 'ERR_DELTA_BASE_MISSING')
    assert.is((err as { peerFault: boolean }).peerFault, false)
  }
})

test('a delta for another target or other bases than asked for is refused before decoding', () => {
  const d = encodeDelta(MIXED, [A, B], { level: 3 })
  throwsCode(() => applyDelta(d, get, { target: A.id }), 'ERR_DELTA_MALFORMED')
  throwsCode(() => applyDelta(d, get, { bases: [B.id, A.id] }), 'ERR_DELTA_MALFORMED')
  throwsCode(() => applyDelta(d, get, { bases: [A.id] }), 'ERR_DELTA_MALFORMED')
})

test('header rules, each refused with a valid check so the parser itself decides', async () => {
  const d = encodeDelta(MIXED, [A, B], { level: 3 })
  const rules: Array<[string, (b: Uint8Array) => Uint8Array]> = [
    ['bad magic', (b) => { b[0] = 0; return b }],
    ['unknown version', (b) => { b[4] = 2; return b }],
    ['zero bases', (b) => { b[5 + 32 + 3] = 0; return b }],
    ['too many bases', (b) => { b[5 + 32 + 3] = MAX_DELTA_BASES + 1; return b }],
    ['a base repeated', (b) => { b.set(A.bytes.length === 65536 ? Buffer.from(A.id, 'hex') : [], 5 + 32 + 3 + 1 + 32 + 3); return b }],
    ['a base that is the target', (b) => { b.set(b.subarray(5, 37), 5 + 32 + 3 + 1); return b }],
    ['no frame', (b) => b.subarray(0, 5 + 32 + 3 + 1 + 2 * (32 + 3) - 1)],
    ['not a zstd frame', (b) => { b[5 + 32 + 3 + 1 + 32 + 3 + 32 + 3] = 0; return b }],
    ['reserved bit in the frame header', (b) => { b[5 + 32 + 3 + 1 + 32 + 3 + 32 + 3 + 4] |= 0x08; return b }],
    ['target length past the cap', (b) => Uint8Array.from([...b.subarray(0, 37), 0x80, 0x80, 0x80, 0x04, ...b.subarray(40)])]
  ]
  for (const [name, edit] of rules) {
    const x = await reframed(d, edit)
    try { applyDelta(x, get); assert.unreachable(name) } catch (err) { assert.is((err as { code: string }).code, 'ERR_DELTA_MALFORMED', name) }
  }
})

test('caller mistakes are TypeErrors', () => {
  assert.throws(() => encodeDelta(new Uint8Array(0), [A]), TypeError)
  assert.throws(() => encodeDelta(MIXED, []), TypeError)
  assert.throws(() => encodeDelta(MIXED, [A, A]), TypeError)
  assert.throws(() => encodeDelta(A.bytes, [A]), TypeError)
  assert.throws(() => encodeDelta(MIXED, [A, B, base(10, 4), base(11, 5), base(12, 6)]), TypeError)
  assert.throws(() => encodeDelta(MIXED, [A], { level: 0 }), TypeError)
})

test.run()
