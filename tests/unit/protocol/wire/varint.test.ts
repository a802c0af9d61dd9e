import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { encodeVarint, readVarint, varintLength } from '../../../../protocol/wire/varint.ts'

const VALUES = [0, 1, 127, 128, 16383, 16384, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 35 + 12345, 64 * 2 ** 30, Number.MAX_SAFE_INTEGER]
for (const v of VALUES) {
  test(`round-trips ${v}`, () => {
    const bytes = encodeVarint(v)
    assert.is(bytes.length, varintLength(v))
    assert.equal(readVarint(bytes, 0), [v, bytes.length])
  })
}

const BAD: Array<[string, number[], number?]> = [
  ['empty', []],
  ['continuation at the end', [0x80]],
  ['non-minimal zero', [0x80, 0x00]],
  ['non-minimal 1', [0x81, 0x00]],
  ['over 8 bytes', [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
  ['2^53 (above MAX_SAFE_INTEGER)', [...encodeVarint(2 ** 52)].map((b, i, a) => i === a.length - 1 ? b * 2 : b)],
  ['above a caller max', [0x81, 0x01], 128]
]
for (const [name, bytes, max] of BAD) {
  test(`refuses ${name} with RangeError`, () => {
    assert.throws(() => readVarint(Uint8Array.from(bytes), 0, max), RangeError)
  })
}

test('encoding refuses what it cannot represent', () => {
  for (const v of [-1, 1.5, 2 ** 53, Number.NaN]) assert.throws(() => encodeVarint(v), TypeError)
})

test.run()
