import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { cutCandidates, DEFAULT_CHUNKING, findBoundary } from '../../../../protocol/index.ts'

function noise (bytes: number, seed: string): Uint8Array {
  const out = Buffer.alloc(bytes)
  for (let o = 0, i = 0; o < bytes; o += 32, i++) createHash('sha256').update(`${seed}:${i}`).digest().copy(out, o)
  return new Uint8Array(out)
}

test('every cut the chunker makes, from any start, is a candidate (past the first 32 bytes hashed)', () => {
  const buf = noise(2 * 1024 * 1024, 'cc')
  const candidates = new Set(cutCandidates(buf, 0, buf.length))
  for (const start of [0, 1, 4096, 12_345, 100_000]) {
    for (let s = start; s < buf.length;) {
      const e = findBoundary(buf, s, buf.length, DEFAULT_CHUNKING)
      if (e < buf.length && e - s < DEFAULT_CHUNKING.maxBytes) assert.ok(candidates.has(e), `cut at ${e} from start ${start}`)
      s = e
    }
  }
  assert.ok(candidates.size > buf.length / DEFAULT_CHUNKING.avgBytes, 'more candidates than cuts')
})

test('bad ranges are caller mistakes', () => {
  assert.throws(() => cutCandidates(new Uint8Array(10), 5, 11), TypeError)
  assert.throws(() => cutCandidates(new Uint8Array(10), 6, 5), TypeError)
})

test.run()
