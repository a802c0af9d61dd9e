import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chunkId, chunkPath, isChunkId } from '../../../../protocol/store/chunk-id.ts'

test('chunk id is the SHA-256 of the bytes, lowercase hex', () => {
  assert.is(chunkId(new TextEncoder().encode('abc')), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
})

const NOT_IDS: unknown[] = [
  '../../etc/passwd', 'BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD',
  'ba7816bf', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad/',
  'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a%', '', 42, null
]
for (const bad of NOT_IDS) {
  test(`refuses ${JSON.stringify(bad)} as a chunk id`, () => {
    assert.is(isChunkId(bad), false)
    assert.throws(() => chunkPath(bad as string), TypeError)
  })
}

test('chunk path fans out by the first two hex digits', () => {
  const id = chunkId(new Uint8Array(0))
  assert.is(chunkPath(id), `chunks/${id.slice(0, 2)}/${id}`)
})

test.run()
