import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { generateSigningKey, signBytes } from '../../../../protocol/signing/signing.ts'
import { signCapability, verifyCapability } from '../../../../protocol/signing/capability.ts'
import type { VerifyCapabilityOptions } from '../../../../protocol/signing/capability.ts'
import { throwsCode } from '../../../helpers/rejects.ts'

const key = generateSigningKey()
const other = generateSigningKey()
const NOW = 1_800_000_000_000
const good = signCapability({ aud: 'peer', sub: '12D3KooWPeer', img: 'desktop', iat: NOW, exp: NOW + 60_000 }, key.privateKey)
const opts: VerifyCapabilityOptions = { publicKey: key.publicKey, nowMs: NOW + 1000, aud: 'peer', sub: '12D3KooWPeer', img: 'desktop' }

test('a valid token verifies and returns its claims', () => {
  const claims = verifyCapability(good, opts)
  assert.equal(claims, { v: 1, aud: 'peer', sub: '12D3KooWPeer', img: 'desktop', iat: NOW, exp: NOW + 60_000 })
})

const [body, sig] = good.split('.') as [string, string]
const flipped = Buffer.from(body, 'base64url'); flipped[5] = flipped[5]! ^ 1
const CASES: Array<[string, string, Partial<VerifyCapabilityOptions>, string]> = [
  ['tampered claims', `${flipped.toString('base64url')}.${sig}`, {}, 'ERR_TOKEN_INVALID'],
  ['signature from another key', signCapability({ aud: 'peer', sub: '12D3KooWPeer', img: 'desktop', iat: NOW, exp: NOW + 60_000 }, other.privateKey), {}, 'ERR_TOKEN_INVALID'],
  ['expired', good, { nowMs: NOW + 120_000 }, 'ERR_TOKEN_EXPIRED'],
  ['issued in the future', good, { nowMs: NOW - 120_000 }, 'ERR_TOKEN_INVALID'],
  ['bound to another peer', good, { sub: '12D3KooWOther' }, 'ERR_TOKEN_INVALID'],
  ['another image', good, { img: 'other' }, 'ERR_TOKEN_INVALID'],
  ['wrong audience', good, { aud: 'origin' }, 'ERR_TOKEN_INVALID'],
  ['one part', body, {}, 'ERR_TOKEN_MALFORMED'],
  ['three parts', `${good}.x`, {}, 'ERR_TOKEN_MALFORMED'],
  ['not base64url', `${body}.%%%`, {}, 'ERR_TOKEN_MALFORMED'],
  ['oversized', `${'a'.repeat(3000)}.${sig}`, {}, 'ERR_TOKEN_MALFORMED'],
  ['short signature', `${body}.${sig.slice(0, 20)}`, {}, 'ERR_TOKEN_INVALID']
]
for (const [name, token, override, code] of CASES) {
  test(`refuses a token: ${name}`, () => {
    throwsCode(() => verifyCapability(token, { ...opts, ...override }), code)
  })
}

test('signed but non-JSON claims are malformed', () => {
  const junk = Buffer.from('not json').toString('base64url')
  const junkSig = Buffer.from(signBytes(key.privateKey, Buffer.from(junk))).toString('base64url')
  throwsCode(() => verifyCapability(`${junk}.${junkSig}`, opts), 'ERR_TOKEN_MALFORMED')
})

test('caller mistakes are TypeErrors', () => {
  assert.throws(() => signCapability({ aud: 'peer', sub: 'a b', img: 'x', iat: NOW, exp: NOW + 1 }, key.privateKey), TypeError)
  assert.throws(() => signCapability({ aud: 'peer', sub: 'a', img: 'x', iat: NOW, exp: NOW }, key.privateKey), TypeError)
})

test.run()
