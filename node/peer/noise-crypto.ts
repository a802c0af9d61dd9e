/**
 * The crypto Noise uses between peers: @chainsafe/libp2p-noise's own (`defaultCrypto`:
 * Node's native ChaCha20-Poly1305 for messages of 1200 bytes and more, its WebAssembly one
 * for shorter), with two changes on the bulk path, measured in bench/p2p:
 *
 * - each session key becomes a Node `KeyObject` once, rather than at every message:
 *   `createCipheriv` given raw key bytes imports them anew each time (~8 µs, as much as
 *   sealing 16 KiB), and 256 MiB is ~4 100 messages each way;
 * - a message handed over as a list (a yamux header and its data) is sealed piece by piece
 *   and stays a list: the TCP connection writes a list in one writev (socket-writes.ts),
 *   so joining it would only copy every byte once more;
 * - a message that spans socket reads (a list) is opened with the same cached key, piece
 *   by piece: the library's path imported the key anew for each (~0.6 ms per MiB pulled,
 *   bench/pull-cpu), as most 64 KiB messages span two reads;
 * - every plaintext piece sealed is reported to the node's send buffers
 *   (send-buffers.ts), which take a chunk server's group buffer back once all of it is
 *   sealed.
 *
 * The bytes on the wire are the same.
 */
import { createCipheriv, createDecipheriv, createSecretKey } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'
import type { SendBuffers } from './send-buffers.ts'

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

function seal (plaintext: Bytes, nonce: Uint8Array, ad: Uint8Array, k: Uint8Array): ReturnType<ICryptoInterface['chaCha20Poly1305Encrypt']> {
  if (plaintext.byteLength < NATIVE_MIN_BYTES) return defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k).subarray()
  const cipher = createCipheriv(CHACHA, keyObject(k), nonce, { authTagLength: TAG_BYTES })
  cipher.setAAD(ad, { plaintextLength: plaintext.byteLength })
  if (plaintext instanceof Uint8Array) {
    const body = cipher.update(plaintext)
    cipher.final() // a stream cipher: nothing left
    return Buffer.concat([body, cipher.getAuthTag()], plaintext.byteLength + TAG_BYTES)
  }
  // a yamux frame (header and data) comes as a list: sealed piece by piece and handed on as
  // a list, not joined (the connection writes a list in one go: socket-writes.ts)
  const sealed = plaintext.sublist(0, 0) // an empty list of the library's own class
  for (const piece of plaintext) sealed.append(cipher.update(piece))
  cipher.final()
  sealed.append(cipher.getAuthTag())
  return sealed
}

function open (ciphertext: Bytes, nonce: Uint8Array, ad: Uint8Array, k: Uint8Array, dst?: Uint8Array): ReturnType<ICryptoInterface['chaCha20Poly1305Decrypt']> {
  if (ciphertext.byteLength < NATIVE_MIN_BYTES) return defaultCrypto.chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, dst)
  const decipher = createDecipheriv(CHACHA, keyObject(k), nonce, { authTagLength: TAG_BYTES })
  const bodyBytes = ciphertext.byteLength - TAG_BYTES
  decipher.setAAD(ad, { plaintextLength: bodyBytes })
  decipher.setAuthTag(ciphertext.subarray(bodyBytes)) // a list copies these 16 bytes only
  if (ciphertext instanceof Uint8Array) {
    const body = decipher.update(ciphertext.subarray(0, bodyBytes))
    decipher.final() // throws when the tag does not match
    return body
  }
  // a message that spanned socket reads comes as a list: opened piece by piece, the
  // plaintext handed on as a list too (the frame reader takes lists by reference)
  const body = ciphertext.sublist(0, 0) // an empty list of the library's own class
  for (const piece of ciphertext.sublist(0, bodyBytes)) body.append(decipher.update(piece))
  decipher.final()
  return body
}

/**
 * `defaultCrypto` with session keys imported once; pass as `noise({ crypto })`. Every
 * plaintext piece sealed is reported to `sendBuffers`, if given (the node's pool).
 */
export function createNoiseCrypto (sendBuffers?: Pick<SendBuffers, 'sealed'>): ICryptoInterface {
  return {
    ...defaultCrypto,
    chaCha20Poly1305Encrypt: sendBuffers === undefined
      ? seal
      : (plaintext, nonce, ad, k) => {
          const out = seal(plaintext, nonce, ad, k)
          // copied into the ciphertext: a chunk server's group buffer may go back
          if (plaintext instanceof Uint8Array) sendBuffers.sealed(plaintext)
          else for (const piece of plaintext) sendBuffers.sealed(piece)
          return out
        },
    chaCha20Poly1305Decrypt: open
  }
}
