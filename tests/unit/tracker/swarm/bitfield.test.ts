import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeHave, encodeHave, popcount } from '../../../../tracker/swarm/bitfield.ts'

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

test.run()
