import { createHash, generateKeyPairSync } from 'node:crypto'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  exportPrivateKeyPem, exportPublicKey, generateSigningKey, importPrivateKeyPem, importPublicKey,
  keyId, rawPublicKey, signBytes, verifyBytes
} from '../../../../protocol/signing/signing.ts'

const key = generateSigningKey()
const other = generateSigningKey()
const data = new TextEncoder().encode('branchcast')

test('key id is the first 16 bytes of SHA-256 of the raw public key, hex', () => {
  const raw = rawPublicKey(key.publicKey)
  assert.is(raw.length, 32)
  assert.is(keyId(key.publicKey), createHash('sha256').update(raw).digest('hex').slice(0, 32))
  assert.is(keyId(key.privateKey), keyId(key.publicKey), 'the private key names the same key')
  assert.is.not(keyId(other.publicKey), keyId(key.publicKey))
})

test('public key round-trips through base64 of the raw 32 bytes', () => {
  const text = exportPublicKey(key.publicKey)
  assert.is(Buffer.from(text, 'base64').length, 32)
  const back = importPublicKey(text)
  assert.is(keyId(back), keyId(key.publicKey))
  assert.ok(verifyBytes(back, data, signBytes(key.privateKey, data)))
})

test('private key round-trips through PKCS#8 PEM', () => {
  const pem = exportPrivateKeyPem(key.privateKey)
  assert.match(pem, /^-----BEGIN PRIVATE KEY-----/)
  const back = importPrivateKeyPem(pem)
  assert.is(keyId(back), keyId(key.publicKey))
  assert.equal(signBytes(back, data), signBytes(key.privateKey, data), 'Ed25519 is deterministic')
})

test('signature verifies only for the same key and bytes', () => {
  const sig = signBytes(key.privateKey, data)
  assert.is(sig.length, 64)
  assert.ok(verifyBytes(key.publicKey, data, sig))
  assert.not.ok(verifyBytes(other.publicKey, data, sig))
  assert.not.ok(verifyBytes(key.publicKey, data.subarray(1), sig))
  for (let bit = 0; bit < sig.length * 8; bit += 7) {
    const bad = sig.slice()
    bad[bit >> 3] ^= 1 << (bit & 7)
    assert.not.ok(verifyBytes(key.publicKey, data, bad), `bit ${bit}`)
  }
  assert.not.ok(verifyBytes(key.publicKey, data, sig.subarray(0, 63)), 'short signature is false, not a throw')
  assert.not.ok(verifyBytes(key.publicKey, data, new Uint8Array(64)))
})

const BAD_PUBLIC: Array<[string, string]> = [
  ['empty', ''],
  ['31 bytes', Buffer.alloc(31, 1).toString('base64')],
  ['33 bytes', Buffer.alloc(33, 1).toString('base64')],
  ['not base64', '!'.repeat(44)],
  ['non-canonical base64', Buffer.alloc(32, 1).toString('base64').replace(/=$/, '') + 'A='],
  ['PEM instead of raw', exportPrivateKeyPem(key.privateKey)]
]
for (const [name, text] of BAD_PUBLIC) {
  test(`importPublicKey refuses ${name} with TypeError`, () => {
    assert.throws(() => importPublicKey(text), TypeError)
  })
}

test('wrong key types are TypeErrors, not silent', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
  assert.throws(() => signBytes(key.publicKey, data), TypeError)
  assert.throws(() => signBytes(rsa.privateKey, data), TypeError)
  assert.throws(() => verifyBytes(key.privateKey, data, new Uint8Array(64)), TypeError)
  assert.throws(() => keyId(rsa.publicKey), TypeError)
  assert.throws(() => importPrivateKeyPem(rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string), TypeError)
  assert.throws(() => importPrivateKeyPem('not a pem'), TypeError)
})

test.run()
