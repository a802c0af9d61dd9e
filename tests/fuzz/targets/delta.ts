/**
 * Delta chunks (protocol/delta/delta-codec.ts `applyDelta`) and delta indexes
 * (protocol/delta/delta-index.ts `decodeDeltaIndex`).
 *
 * A delta ends in check bytes over everything before it, so a mutated delta would almost
 * always stop at that check: the target treats its input as the body and appends the
 * right check, so the header parser and zstd (with the bases as dictionary) see every
 * mutation — as a lying sender who computes the check would make them. The bases are two
 * fixed chunks the "node" holds.
 */
import { createHash } from 'node:crypto'
import { chunkId } from '../../../protocol/store/chunk-id.ts'
import { DELTA_CHECK_BYTES, DELTA_MAGIC, applyDelta, decodeDeltaHeader, encodeDelta } from '../../../protocol/delta/delta-codec.ts'
import { DELTA_INDEX_MAGIC, decodeDeltaIndex, encodeDeltaIndex } from '../../../protocol/delta/delta-index.ts'
import { ZSTD_MAGIC } from '../../../protocol/store/chunk-codec.ts'
import { check, refusal } from '../target.ts'
import type { FuzzTarget } from '../target.ts'
import { privateKey, text } from './fixtures.ts'

const A = text('base chunk A: the quick brown fox jumps over the lazy dog. '.repeat(300))
const B = Uint8Array.from({ length: 9000 }, (_, i) => (i * 2654435761) >>> 24)
const HELD = new Map([[chunkId(A), A], [chunkId(B), B]])
const bases = { a: { id: chunkId(A), bytes: A }, b: { id: chunkId(B), bytes: B } }

const body = (delta: Uint8Array): Uint8Array => delta.subarray(0, delta.byteLength - DELTA_CHECK_BYTES)
const withCheck = (b: Uint8Array): Uint8Array => Uint8Array.from([...b, ...createHash('sha256').update(b).digest().subarray(0, DELTA_CHECK_BYTES)])

function edited (): Uint8Array {
  const t = Uint8Array.from(A)
  t[10] = 0x21
  t.set(text('INSERTED'), 5000)
  return t
}

export const deltaTarget: FuzzTarget = {
  name: 'delta',
  decoder: 'applyDelta (protocol/delta/delta-codec.ts), check bytes fixed up',
  seeds: () => [
    body(encodeDelta(edited(), [bases.a], { level: 3 })),
    body(encodeDelta(Uint8Array.from([...A.subarray(0, 4000), ...B.subarray(2000)]), [bases.a, bases.b], { level: 3 })),
    body(encodeDelta(Uint8Array.of(1, 2, 3), [bases.b], { level: 19 })),
    body(encodeDelta(B.subarray(0, 8000), [bases.b, bases.a], { level: 1 }))
  ],
  dictionary: () => [DELTA_MAGIC, ZSTD_MAGIC, Buffer.from(bases.a.id, 'hex'), Buffer.from(bases.b.id, 'hex'), Uint8Array.of(0x80, 0x80, 0x80, 0x02)],
  run (input) {
    const delta = withCheck(input)
    let out
    try {
      out = applyDelta(delta, (id) => HELD.get(id))
    } catch (err) {
      return refusal(err)
    }
    const h = decodeDeltaHeader(delta)
    check(out.byteLength === h.targetLength && chunkId(out) === h.target, 'accepted a delta that does not rebuild its target')
    return 'ok'
  }
}

const sha = (s: string): string => createHash('sha256').update(s).digest('hex')

export const deltaIndexTarget: FuzzTarget = {
  name: 'delta-index',
  decoder: 'decodeDeltaIndex (protocol/delta/delta-index.ts)',
  seeds: () => [
    encodeDeltaIndex({ manifestDigest: sha('m'), entries: [] }, privateKey),
    encodeDeltaIndex({ manifestDigest: sha('m'), entries: [{ target: sha('t'), deltaBytes: 300, bases: [sha('a'), sha('b')] }, { target: sha('u'), deltaBytes: 70000, bases: [sha('a')] }] }, privateKey)
  ],
  dictionary: () => [DELTA_INDEX_MAGIC, Uint8Array.of(0xff, 0xff, 0xff, 0x7f), Uint8Array.of(4), Uint8Array.of(5)],
  run (input) {
    let index
    try {
      index = decodeDeltaIndex(input)
    } catch (err) {
      return refusal(err)
    }
    // what parses re-encodes to the same bytes before the signature (the key id aside: ours signs): one spelling per index
    const again = encodeDeltaIndex(index, privateKey)
    const signed = (b: Uint8Array): Buffer => Buffer.concat([b.subarray(0, 5), b.subarray(5 + 16, b.byteLength - 64)])
    check(signed(again).equals(signed(input)), 'an index with two spellings')
    return `ok ${Math.min(index.entries.length, 3)}`
  }
}
