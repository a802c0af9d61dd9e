/**
 * The crypto Noise uses between peers: @chainsafe/libp2p-noise's own (`defaultCrypto`:
 * Node's native ChaCha20-Poly1305 for messages of 1200 bytes and more, its WebAssembly one
 * for shorter), with two changes on the bulk path, measured in bench/p2p:
 *
 * - each session key becomes a Node `KeyObject` once, rather than at every message:
 *   `createCipheriv` given raw key bytes imports them anew each time (~8 µs, as much as
 *   sealing 16 KiB), and 256 MiB is ~4 100 messages each way;
 * - a sealed message is one buffer: the library returns a list of pieces when yamux hands
 *   it a header and its data, and the TCP transport makes a socket write of every piece.
 *
 * The bytes on the wire are the same.
 */
import { createCipheriv, createDecipheriv, createSecretKey } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'

/** Bytes as Noise hands them over: one array, or a list of pieces (a yamux header and its data). */
type Bytes = Parameters<ICryptoInterface['chaCha20Poly1305Encrypt']>[0]

const CHACHA = 'chacha20-poly1305'
const TAG_BYTES = 16
/** Below this the WebAssembly implementation is faster (the library's own threshold). */
const NATIVE_MIN_BYTES = 1200

/**
 * Noise keeps one key array per cipher state for the session's life: a weak map keyed by
 * that array holds its KeyObject exactly as long.
 */
const keyObjects = new WeakMap<Uint8Array, KeyObject>()

function keyObject (k: Uint8Array): KeyObject {
  let ko = keyObjects.get(k)
  if (ko === undefined) {
    ko = createSecretKey(k)
    keyObjects.set(k, ko)
  }
  return ko
}

function seal (plaintext: Bytes, nonce: Uint8Array, ad: Uint8Array, k: Uint8Array): Uint8Array {
  if (plaintext.byteLength < NATIVE_MIN_BYTES) return defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k).subarray()
  const cipher = createCipheriv(CHACHA, keyObject(k), nonce, { authTagLength: TAG_BYTES })
  cipher.setAAD(ad, { plaintextLength: plaintext.byteLength })
  // one buffer out (a copy of the message): each piece of a list becomes a socket write of its own
  const parts = plaintext instanceof Uint8Array ? [cipher.update(plaintext)] : Array.from(plaintext, (piece) => cipher.update(piece))
  cipher.final() // a stream cipher: nothing left
  parts.push(cipher.getAuthTag())
  return Buffer.concat(parts, plaintext.byteLength + TAG_BYTES)
}

function open (ciphertext: Bytes, nonce: Uint8Array, ad: Uint8Array, k: Uint8Array, dst?: Uint8Array): ReturnType<ICryptoInterface['chaCha20Poly1305Decrypt']> {
  // a message that spanned socket reads comes as a list: the library's path takes it piece by piece
  if (ciphertext.byteLength < NATIVE_MIN_BYTES || !(ciphertext instanceof Uint8Array)) return defaultCrypto.chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, dst)
  const decipher = createDecipheriv(CHACHA, keyObject(k), nonce, { authTagLength: TAG_BYTES })
  const bodyBytes = ciphertext.byteLength - TAG_BYTES
  decipher.setAAD(ad, { plaintextLength: bodyBytes })
  decipher.setAuthTag(ciphertext.subarray(bodyBytes))
  const body = decipher.update(ciphertext.subarray(0, bodyBytes))
  decipher.final() // throws when the tag does not match
  return body
}

/** `defaultCrypto` with session keys imported once; pass as `noise({ crypto })`. */
export const noiseCrypto: ICryptoInterface = {
  ...defaultCrypto,
  chaCha20Poly1305Encrypt: seal,
  chaCha20Poly1305Decrypt: open
}
