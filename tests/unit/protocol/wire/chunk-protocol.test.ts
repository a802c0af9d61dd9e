import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chunkId } from '../../../../protocol/store/chunk-id.ts'
import {
  decodeFrame, encodeAnswers, encodeChunk, encodeDone, encodeMissing, encodeRefused, encodeRequest, layoutAnswers, readFrames,
  MAX_IDS_PER_REQUEST
} from '../../../../protocol/wire/chunk-protocol.ts'
import type { ChunkMessage } from '../../../../protocol/wire/chunk-protocol.ts'
import { rejects, throwsCode } from '../../../helpers/rejects.ts'

const data = new TextEncoder().encode('hello chunk')
const id = chunkId(data)
const ids = Array.from({ length: 3 }, (_, i) => chunkId(Uint8Array.of(i)))

async function collect (pieces: Uint8Array[], maxFrameBytes?: number): Promise<ChunkMessage[]> {
  async function * src (): AsyncGenerator<Uint8Array> { for (const p of pieces) yield p }
  const out: ChunkMessage[] = []
  for await (const m of readFrames(src(), { maxFrameBytes })) out.push(m)
  return out
}

const ALL = Buffer.concat([encodeRequest('tok.en', ids), encodeChunk(id, data, false), encodeMissing(ids[0]!), encodeRefused('busy', 'upload slots full'), encodeDone()])
const EXPECTED: ChunkMessage[] = [
  { type: 'request', token: 'tok.en', ids },
  { type: 'chunk', id, compressed: false, data },
  { type: 'missing', id: ids[0]! },
  { type: 'refused', code: 'busy', message: 'upload slots full' },
  { type: 'done' }
]

test('every message round-trips', async () => {
  const got = await collect([ALL])
  assert.equal(got.map((m) => m.type === 'chunk' ? { ...m, data: new Uint8Array(m.data) } : m), EXPECTED)
})

test('frames split at every byte boundary decode the same', async () => {
  for (let cut = 1; cut < ALL.length; cut += 7) {
    const got = await collect([ALL.subarray(0, cut), ALL.subarray(cut)])
    assert.is(got.length, EXPECTED.length, `cut at ${cut}`)
  }
  const bytewise = await collect([...ALL].map((b) => Uint8Array.of(b)))
  assert.is(bytewise.length, EXPECTED.length)
})

test('encodeAnswers gives the bytes of each answer encoded alone, back to back', () => {
  const big = new Uint8Array(300).fill(9)
  const answers = [{ id, data, compressed: false }, { id: ids[1]! }, { id: chunkId(big), data: big, compressed: true }]
  const alone = [encodeChunk(id, data, false), encodeMissing(ids[1]!), encodeChunk(chunkId(big), big, true)]
  assert.equal(encodeAnswers(answers, false), new Uint8Array(Buffer.concat(alone)))
  assert.equal(encodeAnswers(answers, true), new Uint8Array(Buffer.concat([...alone, encodeDone()])))
  assert.equal(encodeAnswers([], true), encodeDone())
  assert.throws(() => encodeAnswers([{ id: 'not an id' }], false), TypeError)
})

test('layoutAnswers leaves each chunk a slot of its length: filled, the bytes are encodeAnswers\'', () => {
  const big = new Uint8Array(300).fill(9)
  const answers = [{ id, data, compressed: false }, { id: ids[1]! }, { id: chunkId(big), data: big, compressed: true }]
  for (const done of [false, true]) {
    const given: number[] = []
    const { bytes, slots } = layoutAnswers(answers.map((a) => ({ id: a.id, length: a.data?.length, compressed: a.compressed })), done, (n) => {
      given.push(n)
      return new Uint8Array(n).fill(0xee) // a reused buffer: whatever it held before
    })
    assert.equal(slots.map((s) => s?.length), [data.length, undefined, 300])
    slots[0]!.set(data)
    slots[2]!.set(big)
    assert.equal(bytes, encodeAnswers(answers, done))
    assert.equal(given, [bytes.length])
  }
  assert.throws(() => layoutAnswers([{ id, length: 4 }], false, (n) => new Uint8Array(n + 1)), /bytes asked for/)
  assert.throws(() => layoutAnswers([{ id, length: 5 * 1024 * 1024 }], false), /too large/)
  assert.throws(() => layoutAnswers([{ id, length: -1 }], false), /too large/)
})

test('with reuse, frames that span pieces share one buffer: each is right when read, gone at the next', async () => {
  const a = new Uint8Array(5000).fill(1)
  const b = new Uint8Array(3000).fill(2)
  const wire = Buffer.concat([encodeChunk(chunkId(a), a, false), encodeChunk(chunkId(b), b, false), encodeDone()])
  // every frame spans pieces
  const pieces = Array.from({ length: Math.ceil(wire.length / 1000) }, (_, i) => wire.subarray(i * 1000, (i + 1) * 1000))
  async function * src (): AsyncGenerator<Uint8Array> { for (const p of pieces) yield p }
  for (const reuse of [false, true]) {
    const kept: Uint8Array[] = []
    for await (const m of readFrames(src(), { reuse })) {
      if (m.type !== 'chunk') continue
      // read at once: the bytes sent
      assert.is(chunkId(m.data), m.id)
      kept.push(m.data)
    }
    assert.is(kept.length, 2)
    // kept past the next frame: a copy each without reuse, the later frame's bytes with it
    assert.is(kept[0]!.buffer === kept[1]!.buffer, reuse)
    assert.is(chunkId(kept[0]!) === chunkId(a), !reuse)
    assert.is(chunkId(kept[1]!), chunkId(b))
  }
})

test('a source of piece lists (libp2p streams yield Uint8ArrayList) decodes the same', async () => {
  const lists = [[ALL.subarray(0, 5), ALL.subarray(5, 40)], [ALL.subarray(40, 41)], [ALL.subarray(41, 90), ALL.subarray(90)]]
  async function * src (): AsyncGenerator<Iterable<Uint8Array>> { for (const l of lists) yield l }
  const got: ChunkMessage[] = []
  for await (const m of readFrames(src())) got.push(m)
  assert.equal(got.map((m) => m.type === 'chunk' ? { ...m, data: new Uint8Array(m.data) } : m), EXPECTED)
})

// CPU time, not wall time: other processes on a loaded machine do not count. Reading is
// linear (~20 ms here for 4 MiB in 256-byte pieces); the quadratic reader took 5-12 s, so
// the budget is generous yet 10x+ below it, and the source gives up once it is spent.
const LINEAR_BUDGET_CPU_MS = 400
test('a 4 MiB frame in 256-byte pieces is read in bounded CPU (linear in the pieces)', async () => {
  const big = new Uint8Array(4 * 1024 * 1024).map((_, i) => i * 31)
  const f = encodeChunk(chunkId(big), big, false)
  const start = process.cpuUsage()
  const spentMs = (): number => { const c = process.cpuUsage(start); return (c.user + c.system) / 1000 }
  async function * src (): AsyncGenerator<Uint8Array> {
    for (let o = 0; o < f.length; o += 256) {
      if (spentMs() > LINEAR_BUDGET_CPU_MS) throw new Error(`over ${LINEAR_BUDGET_CPU_MS} ms of CPU after ${o} of ${f.length} bytes`)
      yield f.subarray(o, o + 256)
    }
  }
  const got: ChunkMessage[] = []
  for await (const m of readFrames(src())) got.push(m)
  assert.ok(spentMs() <= LINEAR_BUDGET_CPU_MS, `${spentMs()} ms of CPU`)
  assert.is(got.length, 1)
  assert.ok(got[0]!.type === 'chunk' && Buffer.from(got[0]!.data).equals(big), 'the frame arrives whole')
})

const BAD: Array<[string, Uint8Array[]]> = [
  ['a stream that ends inside a frame (truncation)', [encodeChunk(id, data, false).subarray(0, 10)]],
  ['an oversized frame announced by its length prefix', [Uint8Array.of(0xff, 0xff, 0xff, 0x7f)]],
  ['an empty frame', [Uint8Array.of(0)]],
  ['an unknown frame type', [Uint8Array.of(1, 99)]],
  ['a request whose ids do not fill the frame', [(() => { const f = encodeRequest('t', ids); f[0] = f[0]! - 1; return f.subarray(0, f.length - 1) })()]], // one id byte short
  ['a refusal with an unknown code', [(() => { const f = encodeRefused('busy', 'x'); f[3] = 'x'.charCodeAt(0); return f })()]],
  ['a done frame with a body', [Uint8Array.of(2, 5, 0)]],
  ['a chunk frame with a bad encoding flag', [(() => { const f = encodeChunk(id, data, false); f[34] = 7; return f })()]] // byte 34: after prefix, type and the 32-byte id
]
for (const [name, pieces] of BAD) {
  test(`refuses ${name}`, async () => {
    await rejects(collect(pieces, 1024), { code: 'ERR_CHUNK_PROTOCOL' })
  })
}

test('decodeFrame refuses invalid UTF-8 in a token', () => {
  throwsCode(() => decodeFrame(Uint8Array.of(1, 1, 0xff, 1, ...new Uint8Array(32))), 'ERR_CHUNK_PROTOCOL')
})

test('text that starts with a byte-order mark decodes as sent: a message has one encoding', async () => {
  const frames = [encodeRequest('\uFEFFtok.en', ids), encodeRefused('busy', '\uFEFFfull')]
  const got = await collect(frames)
  assert.equal(got, [{ type: 'request', token: '\uFEFFtok.en', ids }, { type: 'refused', code: 'busy', message: '\uFEFFfull' }])
})

test('caller mistakes are TypeErrors', () => {
  assert.throws(() => encodeRequest('t', []), TypeError)
  assert.throws(() => encodeRequest('t', Array.from({ length: MAX_IDS_PER_REQUEST + 1 }, () => id)), TypeError)
  assert.throws(() => encodeMissing('../etc'), TypeError)
})

test.run()
