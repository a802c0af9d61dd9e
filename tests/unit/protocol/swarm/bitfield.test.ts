import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { bitfieldBytes, decodeHave, encodeHave, fullBitfield, hasBit, popcount, setBit } from '../../../../protocol/swarm/bitfield.ts'

test('decodes canonical base64 within ceil(chunkCount/8) bytes and counts bits', () => {
  const r = decodeHave(Buffer.from([0b1010_0000, 0b1000_0000]).toString('base64'), 9)
  assert.equal(r, { ok: true, bits: new Uint8Array([0b1010_0000, 0b1000_0000]), count: 3 })
  assert.equal(decodeHave('', 100), { ok: true, bits: new Uint8Array(0), count: 0 }, 'empty: holds nothing')
  assert.equal(decodeHave('/w==', 8), { ok: true, bits: new Uint8Array([255]), count: 8 })
})

test('refuses what a lying or broken node might send', () => {
  const cases: Array<[string, string, number, string]> = [
    ['not base64', 'ab$d', 16, 'not-base64'],
    ['missing padding', 'AA', 16, 'not-base64'],
    ['url alphabet', '__8=', 24, 'not-base64'],
    ['stray low bits in the last character (AT== spells AQ==)', 'AT==', 8, 'not-base64'],
    ['one byte too long', Buffer.alloc(3).toString('base64'), 16, 'too-long'],
    ['far too long, refused by length before decoding', 'A'.repeat(10_000), 16, 'too-long'],
    ['bit past the last chunk', Buffer.from([0, 0b0100_0000]).toString('base64'), 9, 'bits-past-end']
  ]
  for (const [name, b64, chunks, problem] of cases) assert.equal(decodeHave(b64, chunks), { ok: false, problem }, name)
})

test('round trip and popcount', () => {
  const bits = new Uint8Array([1, 2, 255, 0, 128])
  assert.is(popcount(bits), 1 + 1 + 8 + 1)
  const r = decodeHave(encodeHave(bits), 40)
  assert.ok(r.ok && Buffer.from(r.bits).equals(Buffer.from(bits)))
})

test('bits are most significant first; bits past the end read as clear', () => {
  const bits = new Uint8Array(bitfieldBytes(10))
  for (const i of [0, 7, 9]) setBit(bits, i)
  assert.equal(bits, new Uint8Array([0b1000_0001, 0b0100_0000]))
  assert.equal([0, 1, 7, 8, 9, 10, 64].map((i) => hasBit(bits, i)), [true, false, true, false, true, false, false])
})

test('a full bitfield sets exactly the first chunkCount bits and decodes strictly', () => {
  for (const n of [0, 1, 7, 8, 9, 17]) {
    const bits = fullBitfield(n)
    assert.is(bits.length, bitfieldBytes(n), `n=${n}: length`)
    assert.is(popcount(bits), n, `n=${n}: count`)
    const r = decodeHave(encodeHave(bits), n)
    assert.ok(r.ok && r.count === n, `n=${n}: decodes`)
  }
})

test.run()
