import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeCanonicalBase64 } from '../../../../protocol/signing/canonical-base64.ts'

test('what Node encodes decodes back, for every length mod 3, in both alphabets', () => {
  for (let n = 0; n <= 9; n++) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 97 + 251) & 0xff)
    for (const encoding of ['base64', 'base64url'] as const) {
      assert.equal(decodeCanonicalBase64(Buffer.from(bytes).toString(encoding), encoding), bytes, `${n} bytes, ${encoding}`)
    }
  }
})

// Each decodes, leniently, to the bytes of the canonical text in its row.
const REFUSED: Array<[string, string, 'base64' | 'base64url']> = [
  ['unused low bits set (base64url)', 'QUJDRB', 'base64url'], // QUJDRA: "ABCD"
  ['unused low bits set (base64)', 'QUJDRB==', 'base64'],
  ['padding in base64url', 'QUJDRA==', 'base64url'],
  ['missing padding in base64', 'QUJDRA', 'base64'],
  ['the other alphabet', '-_-_', 'base64'],
  ['the other alphabet (base64url)', '+/+/', 'base64url'],
  ['a skipped character', 'QUJD RA', 'base64url'],
  ['a trailing newline', 'QUJDRA==\n', 'base64'],
  ['a dangling character', 'QUJDR', 'base64url']
]
for (const [name, text, encoding] of REFUSED) {
  test(`refuses ${name}`, () => {
    assert.is(decodeCanonicalBase64(text, encoding), undefined)
  })
}

test.run()
