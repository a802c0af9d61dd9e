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

// Every other way to write the same bytes that Node's lenient decoder accepts: another
// last character (its unused low bits), padding, the standard alphabet, skipped characters.
const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
function otherSpellings (part: string): Array<[string, string]> {
  const out: Array<[string, string]> = []
  for (const c of BASE64URL_ALPHABET) out.push([`last character ${c}`, part.slice(0, -1) + c])
  out.push(['one pad', `${part}=`], ['two pads', `${part}==`], ['standard alphabet', part.replaceAll('-', '+').replaceAll('_', '/')])
  for (const junk of [' ', '\n', '%', '=', '!']) out.push([`${JSON.stringify(junk)} inside`, `${part.slice(0, 8)}${junk}${part.slice(8)}`])
  const bytes = Buffer.from(part, 'base64url')
  return out.filter(([, v]) => v !== part && Buffer.from(v, 'base64url').equals(bytes))
}
const NON_CANONICAL: Array<[string, string]> = [
  ...otherSpellings(sig).map(([name, v]): [string, string] => [`signature, ${name}`, `${body}.${v}`]),
  ...otherSpellings(body).map(([name, v]): [string, string] => [`claims, ${name}`, `${v}.${sig}`])
]
test('the table of non-canonical spellings holds every other last character of the signature', () => {
  // 64 bytes in 86 characters leave 4 unused bits: 15 other last characters decode the same
  assert.is(otherSpellings(sig).filter(([name]) => name.startsWith('last character')).length, 15)
})
for (const [name, token] of NON_CANONICAL) {
  test(`refuses a non-canonical spelling of a valid token: ${name}`, () => {
    throwsCode(() => verifyCapability(token, opts), 'ERR_TOKEN_MALFORMED')
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

test('an origin rate cap rides in the signed claims: round trip, tamper-evident, positive integers only', () => {
  const capped = signCapability({ aud: 'origin', sub: 'node', img: 'desktop', iat: NOW, exp: NOW + 60_000, rate: 131_072 }, key.privateKey)
  assert.is(verifyCapability(capped, { publicKey: key.publicKey, nowMs: NOW, aud: 'origin' }).rate, 131_072)
  assert.is(verifyCapability(signCapability({ aud: 'origin', sub: 'node', img: 'desktop', iat: NOW, exp: NOW + 60_000 }, key.privateKey), { publicKey: key.publicKey, nowMs: NOW, aud: 'origin' }).rate, undefined)
  // raising the rate in the claims breaks the signature
  const [claims, signature] = capped.split('.') as [string, string]
  const raised = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(claims, 'base64url').toString()), rate: 1e9 })).toString('base64url')
  throwsCode(() => verifyCapability(`${raised}.${signature}`, { publicKey: key.publicKey, nowMs: NOW, aud: 'origin' }), 'ERR_TOKEN_INVALID')
  for (const rate of [0, -1, 1.5, Number.MAX_SAFE_INTEGER + 2]) {
    assert.throws(() => signCapability({ aud: 'origin', sub: 'node', img: 'desktop', iat: NOW, exp: NOW + 60_000, rate }, key.privateKey), /rate/)
    const body = Buffer.from(JSON.stringify({ v: 1, aud: 'origin', sub: 'node', img: 'desktop', iat: NOW, exp: NOW + 60_000, rate })).toString('base64url')
    const forged = `${body}.${Buffer.from(signBytes(key.privateKey, Buffer.from(body))).toString('base64url')}`
    throwsCode(() => verifyCapability(forged, { publicKey: key.publicKey, nowMs: NOW, aud: 'origin' }), 'ERR_TOKEN_MALFORMED')
  }
})

test.run()
