import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { originLinkSignature, signOriginLink } from '../../../../tracker/origin/secure-link.ts'

const test = suite('origin: secure_link signatures')

// Computed independently, the way nginx's docs do it:
//   printf '%s' '1700000000 node%3Aa win10 s3cr3t-s3cr3t-s3cr3t' | openssl md5 -binary | openssl base64 | tr +/ -_ | tr -d =
const VECTOR = { secret: 's3cr3t-s3cr3t-s3cr3t', clientId: 'node:a', image: 'win10', expiresAtSec: 1_700_000_000 }
const VECTOR_SIG = '6rlepcHjvuvz1-Bjnf1GJQ'

test('matches an md5 computed with openssl over "<e> <c> <i> <secret>" (URL-encoded values)', () => {
  const q = signOriginLink(VECTOR)
  assert.equal(q, { e: '1700000000', c: 'node:a', i: 'win10', s: VECTOR_SIG })
  assert.is(originLinkSignature(VECTOR.secret, '1700000000', 'node%3Aa', 'win10'), VECTOR_SIG)
})

test('every bound field changes the signature', () => {
  const base = signOriginLink(VECTOR).s
  assert.is.not(signOriginLink({ ...VECTOR, clientId: 'node:b' }).s, base)
  assert.is.not(signOriginLink({ ...VECTOR, image: 'win11' }).s, base)
  assert.is.not(signOriginLink({ ...VECTOR, expiresAtSec: VECTOR.expiresAtSec + 1 }).s, base)
  assert.is.not(signOriginLink({ ...VECTOR, secret: `${VECTOR.secret}x` }).s, base)
  // fields cannot slide into each other: (c="ab", i="cd") ≠ (c="abc", i="d")
  assert.is.not(signOriginLink({ ...VECTOR, clientId: 'ab', image: 'cd' }).s, signOriginLink({ ...VECTOR, clientId: 'abc', image: 'd' }).s)
})

test('caller mistakes throw TypeError', () => {
  assert.throws(() => signOriginLink({ ...VECTOR, secret: 'short' }), TypeError)
  assert.throws(() => signOriginLink({ ...VECTOR, expiresAtSec: 1.5 }), TypeError)
  assert.throws(() => signOriginLink({ ...VECTOR, expiresAtSec: 0 }), TypeError)
})

test.run()
