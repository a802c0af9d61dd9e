// A chunk server's group buffers come back only once Noise has sealed every byte of one.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import { noiseCrypto } from '../../../../node/peer/noise-crypto.ts'
import { SEND_BUFFER_BYTES, sendBufferStats, takeSendBuffer } from '../../../../node/peer/send-buffers.ts'

const k = randomBytes(32)
const nonce = randomBytes(12)
const ad = new Uint8Array(0)
const MESSAGE = 65519 // Noise's largest plaintext

/** Seals `group` (up to `upTo`) as Noise does, in messages of ≤ 65 519 bytes; the ciphertexts. */
function sealAll (group: Uint8Array, upTo = group.length): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let i = 0; i < upTo; i += MESSAGE) out.push(noiseCrypto.chaCha20Poly1305Encrypt(group.subarray(i, Math.min(i + MESSAGE, upTo)), nonce, ad, k) as Uint8Array)
  return out
}

/** Takes buffers until one comes fresh (the pool is empty), so each test starts alike. */
function drain (): void {
  const seen = new Set<ArrayBufferLike>()
  while (seen.size < 16) {
    const b = takeSendBuffer(16)
    if (seen.has(b.buffer)) return
    seen.add(b.buffer)
  }
}

test('a group sealed in full goes back to the pool; the next group gets its memory, the ciphertext stays', () => {
  drain()
  const returned = sendBufferStats.returned
  const group = takeSendBuffer(262_296)
  const plain = randomBytes(group.length)
  group.set(plain)
  const sealed = sealAll(group)
  assert.is(sendBufferStats.returned, returned + 1)
  const next = takeSendBuffer(200_000)
  assert.ok(next.buffer === group.buffer)
  assert.is(next.length, 200_000)
  next.fill(7)
  // what went out was sealed from the bytes as they were: it opens to them
  const opened = sealed.map((c) => noiseCrypto.chaCha20Poly1305Decrypt(c, nonce, ad, k) as Uint8Array)
  assert.ok(Buffer.concat(opened).equals(plain))
})

test('a group sealed in part (a stream reset mid-group) never goes back', () => {
  drain()
  const group = takeSendBuffer(262_296)
  sealAll(group, 200_000)
  assert.not.ok(takeSendBuffer(1000).buffer === group.buffer)
})

test('a group over the pooled size, or a copy of a group sealed, changes nothing', () => {
  drain()
  const big = takeSendBuffer(SEND_BUFFER_BYTES + 1)
  assert.is(big.length, SEND_BUFFER_BYTES + 1)
  sealAll(big)
  assert.not.ok(takeSendBuffer(10).buffer === big.buffer)
  // a layer that joined pieces: its copy is sealed, the group is not
  drain()
  const group = takeSendBuffer(70_000)
  sealAll(new Uint8Array(group))
  assert.not.ok(takeSendBuffer(10).buffer === group.buffer)
})

test.run()
