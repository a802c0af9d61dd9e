import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { DEFAULT_CHUNKING } from '../../../../protocol/index.ts'
import { decodeSeedIndex, encodeSeedIndex } from '../../../../node/seeds/index.ts'
import type { SeedParamSet } from '../../../../node/seeds/index.ts'

const id = (s: string): string => createHash('sha256').update(s).digest('hex')
const sets: SeedParamSet[] = [
  {
    params: { ...DEFAULT_CHUNKING },
    files: [
      { path: '/srv/seed/a.bin', size: 200_000, mtimeMs: 1_700_000_000_123.456, ino: 42, ids: [id('a0'), id('a1')], offsets: [0, 70_000], lengths: [70_000, 130_000] },
      { path: '/srv/seed/é/b', size: 10, mtimeMs: 1, ino: 2 ** 40, ids: [id('b')], offsets: [0], lengths: [10] }
    ]
  },
  { params: { minBytes: 8192, avgBytes: 16384, maxBytes: 65536 }, files: [] }
]

test('round trip: what is encoded decodes to the same sets', () => {
  assert.equal(decodeSeedIndex(encodeSeedIndex(sets), 100), sets)
  assert.equal(decodeSeedIndex(encodeSeedIndex([]), 100), [])
})

test('every truncation and every bit flip is refused with ERR_SEED_INDEX_FILE', () => {
  const bytes = encodeSeedIndex(sets)
  for (let n = 0; n < bytes.length; n++) {
    try { decodeSeedIndex(bytes.subarray(0, n), 100); assert.unreachable(`truncation to ${n} accepted`) } catch (err) { assert.is((err as { code?: string }).code, 'ERR_SEED_INDEX_FILE') }
  }
  for (let i = 0; i < bytes.length; i++) {
    const b = Uint8Array.from(bytes)
    b[i] ^= 0x10
    try { decodeSeedIndex(b, 100); assert.unreachable(`flip at ${i} accepted`) } catch (err) { assert.is((err as { code?: string }).code, 'ERR_SEED_INDEX_FILE') }
  }
})

test('an index holding more chunks than the cap is refused (it is rebuilt within the cap)', () => {
  try { decodeSeedIndex(encodeSeedIndex(sets), 2); assert.unreachable() } catch (err) { assert.is((err as { code?: string }).code, 'ERR_SEED_INDEX_FILE') }
})

test.run()
