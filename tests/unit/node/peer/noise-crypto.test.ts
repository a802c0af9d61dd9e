import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { createNoiseCrypto } from '../../../../node/peer/noise-crypto.ts'

const noiseCrypto = createNoiseCrypto()

const k = randomBytes(32)
const nonce = randomBytes(12)
const ad = randomBytes(32)
const flat = (b: Uint8Array | Iterable<Uint8Array>): Buffer => Buffer.concat(b instanceof Uint8Array ? [b] : [...b])

/**
 * Pieces as Noise hands them over when yamux gives a header and its data, or as a message
 * spanning socket reads arrives: a Uint8ArrayList's iteration, length, copy and slice.
 */
function pieces (...parts: Uint8Array[]): never {
  const bytes = Buffer.concat(parts)
  const sublist = (start: number, end: number): unknown => {
    const out: Uint8Array[] = []
    let at = 0
    for (const p of parts) {
      const from = Math.max(start, at)
      const to = Math.min(end, at + p.byteLength)
      if (from < to) out.push(p.subarray(from - at, to - at))
      at += p.byteLength
    }
    return pieces(...out)
  }
  return {
    byteLength: bytes.byteLength,
    [Symbol.iterator]: () => parts[Symbol.iterator](),
    subarray: (start = 0, end = bytes.byteLength) => bytes.subarray(start, end),
    sublist,
    append: (p: Uint8Array) => { parts.push(p) }
  } as never
}

test('sealed messages are the bytes the library seals, for every size, as one buffer', () => {
  for (const size of [0, 1, 1199, 1200, 4096, 65519]) {
    const m = randomBytes(size)
    const ours = noiseCrypto.chaCha20Poly1305Encrypt(m, nonce, ad, k)
    assert.ok(ours instanceof Uint8Array, `${size}: one buffer`)
    assert.equal(flat(ours), flat(defaultCrypto.chaCha20Poly1305Encrypt(m, nonce, ad, k)), `${size} bytes`)
    assert.equal(flat(noiseCrypto.chaCha20Poly1305Decrypt(ours, nonce, ad, k)), m, `${size}: opens`)
  }
})

test('a message handed over in pieces seals as the whole would, still in pieces', () => {
  const m = randomBytes(65519)
  const ours = noiseCrypto.chaCha20Poly1305Encrypt(pieces(m.subarray(0, 12), m.subarray(12, 40_000), m.subarray(40_000)), nonce, ad, k)
  assert.not.ok(ours instanceof Uint8Array, 'a list, not joined')
  assert.equal(flat(ours), flat(defaultCrypto.chaCha20Poly1305Encrypt(m, nonce, ad, k)))
})

test('another key seals otherwise; the wrong key or a changed byte does not open', () => {
  const m = randomBytes(8192)
  const sealed = Buffer.from(noiseCrypto.chaCha20Poly1305Encrypt(m, nonce, ad, k) as Uint8Array)
  const other = randomBytes(32)
  assert.not.equal(flat(noiseCrypto.chaCha20Poly1305Encrypt(m, nonce, ad, other)), sealed)
  assert.throws(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, other))
  for (const at of [0, 4000, sealed.length - 1]) {
    const bad = Buffer.from(sealed)
    bad[at]! ^= 1
    assert.throws(() => noiseCrypto.chaCha20Poly1305Decrypt(bad, nonce, ad, k), undefined, `byte ${at}`)
  }
  // keys are cached by array: a copy of the key in another array seals alike
  assert.equal(flat(noiseCrypto.chaCha20Poly1305Encrypt(m, nonce, ad, Buffer.from(k))), sealed)
})


test('a message that arrives in pieces opens as the whole would, and a changed byte in any piece does not', () => {
  const m = randomBytes(65519)
  const sealed = Buffer.from(noiseCrypto.chaCha20Poly1305Encrypt(m, nonce, ad, k) as Uint8Array)
  // cut inside the body and inside the tag
  const cuts = [0, 30_000, sealed.length - 8, sealed.length]
  const split = (b: Uint8Array): ReturnType<typeof pieces> => pieces(...cuts.slice(1).map((end, i) => b.subarray(cuts[i], end)))
  assert.equal(flat(noiseCrypto.chaCha20Poly1305Decrypt(split(sealed), nonce, ad, k)), m)
  for (const at of [5, 40_000, sealed.length - 3]) {
    const bad = Buffer.from(sealed)
    bad[at]! ^= 1
    assert.throws(() => noiseCrypto.chaCha20Poly1305Decrypt(split(bad), nonce, ad, k), undefined, `byte ${at}`)
  }
})

test.run()
