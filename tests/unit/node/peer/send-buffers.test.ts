// A chunk server's group buffers come back only once Noise has sealed every byte of one.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'
import { createNoiseCrypto } from '../../../../node/peer/noise-crypto.ts'
import { SEND_BUFFER_BYTES, SendBuffers } from '../../../../node/peer/send-buffers.ts'

const k = randomBytes(32)
const nonce = randomBytes(12)
const ad = new Uint8Array(0)
const MESSAGE = 65519 // Noise's largest plaintext

/** A node's pool and the Noise crypto of its connections. */
function node (): { pool: SendBuffers, crypto: ICryptoInterface } {
  const pool = new SendBuffers()
  return { pool, crypto: createNoiseCrypto(pool) }
}

/** Seals `group` (up to `upTo`) as Noise does, in messages of ≤ 65 519 bytes; the ciphertexts. */
function sealAll (crypto: ICryptoInterface, group: Uint8Array, upTo = group.length): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let i = 0; i < upTo; i += MESSAGE) out.push(crypto.chaCha20Poly1305Encrypt(group.subarray(i, Math.min(i + MESSAGE, upTo)), nonce, ad, k) as Uint8Array)
  return out
}

test('a group sealed in full goes back to the pool; the next group gets its memory, the ciphertext stays', () => {
  const { pool, crypto } = node()
  const group = pool.take(262_296)
  const plain = randomBytes(group.length)
  group.set(plain)
  const sealed = sealAll(crypto, group)
  assert.equal(pool.stats, { lent: 1, returned: 1 })
  const next = pool.take(200_000)
  assert.ok(next.buffer === group.buffer)
  assert.is(next.length, 200_000)
  next.fill(7)
  // what went out was sealed from the bytes as they were: it opens to them
  const opened = sealed.map((c) => crypto.chaCha20Poly1305Decrypt(c, nonce, ad, k) as Uint8Array)
  assert.ok(Buffer.concat(opened).equals(plain))
})

test('a group sealed in part (a stream reset mid-group) never goes back', () => {
  const { pool, crypto } = node()
  const group = pool.take(262_296)
  sealAll(crypto, group, 200_000)
  assert.not.ok(pool.take(1000).buffer === group.buffer)
  assert.equal(pool.stats, { lent: 2, returned: 0 })
})

test('a group over the pooled size, a copy of a group, or another node\'s sealing change nothing', () => {
  const { pool, crypto } = node()
  const big = pool.take(SEND_BUFFER_BYTES + 1)
  assert.is(big.length, SEND_BUFFER_BYTES + 1)
  sealAll(crypto, big)
  assert.equal(pool.stats, { lent: 0, returned: 0 })
  // a layer that joined pieces: its copy is sealed, the group is not
  const group = pool.take(70_000)
  sealAll(crypto, new Uint8Array(group))
  // another node's connections seal its own groups only
  sealAll(node().crypto, group)
  sealAll(createNoiseCrypto(), group)
  assert.not.ok(pool.take(10).buffer === group.buffer)
  assert.equal(pool.stats, { lent: 2, returned: 0 })
})

test('at most four spare buffers are kept', () => {
  const { pool, crypto } = node()
  const groups = Array.from({ length: 6 }, () => pool.take(100_000))
  for (const g of groups) sealAll(crypto, g)
  const again = Array.from({ length: 6 }, () => pool.take(100_000))
  assert.is(again.filter((b) => groups.some((g) => g.buffer === b.buffer)).length, 4)
})

test.run()
