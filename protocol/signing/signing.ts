/**
 * Ed25519 keys and signatures for manifests (node:crypto only).
 *
 * The repository key signs; nodes pin its public half at enrollment, as the base64 of the
 * raw 32 bytes (`exportPublicKey`), and refuse manifests naming any other `keyId`.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { decodeCanonicalBase64 } from './canonical-base64.ts'

export const PUBLIC_KEY_BYTES = 32
export const SIGNATURE_BYTES = 64
/** Key ids are the first 16 bytes of SHA-256(raw public key): short, and collision-free enough to name a pinned key. */
export const KEY_ID_BYTES = 16

export interface SigningKeyPair {
  privateKey: KeyObject
  publicKey: KeyObject
}

export function generateSigningKey (): SigningKeyPair {
  return generateKeyPairSync('ed25519')
}

/** The raw 32-byte Ed25519 public key (from a public or a private key). */
export function rawPublicKey (key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : key
  assertEd25519(pub, 'public')
  const { x } = pub.export({ format: 'jwk' })
  return new Uint8Array(Buffer.from(x as string, 'base64url'))
}

/** Hex of the first 16 bytes of SHA-256(raw public key); accepts the private key too. */
export function keyId (key: KeyObject): string {
  return createHash('sha256').update(rawPublicKey(key)).digest().subarray(0, KEY_ID_BYTES).toString('hex')
}

/** Base64 of the raw 32-byte public key: what an operator pastes and a node pins. */
export function exportPublicKey (publicKey: KeyObject): string {
  return Buffer.from(rawPublicKey(publicKey)).toString('base64')
}

/** Inverse of `exportPublicKey`. Throws TypeError unless it is canonical base64 of exactly 32 bytes. */
export function importPublicKey (text: string): KeyObject {
  const raw = decodeCanonicalBase64(typeof text === 'string' ? text.trim() : '', 'base64')
  if (raw?.length !== PUBLIC_KEY_BYTES) {
    throw new TypeError(`an Ed25519 public key is the base64 of ${PUBLIC_KEY_BYTES} raw bytes`)
  }
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' })
  } catch (err) {
    throw new TypeError('not an Ed25519 public key', { cause: err })
  }
}

/** PKCS#8 PEM, for keeping the repository key in the tracker's data directory (mode 0600 is the caller's job). */
export function exportPrivateKeyPem (privateKey: KeyObject): string {
  assertEd25519(privateKey, 'private')
  return privateKey.export({ format: 'pem', type: 'pkcs8' }) as string
}

export function importPrivateKeyPem (pem: string): KeyObject {
  let key: KeyObject
  try {
    key = createPrivateKey({ key: pem, format: 'pem' })
  } catch (err) {
    throw new TypeError('not a PEM private key', { cause: err })
  }
  assertEd25519(key, 'private')
  return key
}

/** Ed25519 signature (64 bytes) over `bytes`. Deterministic: same key and bytes, same signature. */
export function signBytes (privateKey: KeyObject, bytes: Uint8Array): Uint8Array {
  assertEd25519(privateKey, 'private')
  return new Uint8Array(sign(null, bytes, privateKey))
}

/** False for a wrong or malformed signature; never throws for hostile signature bytes. */
export function verifyBytes (publicKey: KeyObject, bytes: Uint8Array, signature: Uint8Array): boolean {
  assertEd25519(publicKey, 'public')
  if (signature.length !== SIGNATURE_BYTES) return false
  try {
    return verify(null, bytes, publicKey, signature)
  } catch {
    return false
  }
}

function assertEd25519 (key: KeyObject, type: 'public' | 'private'): void {
  if (key?.type !== type || key.asymmetricKeyType !== 'ed25519') {
    throw new TypeError(`expected an Ed25519 ${type} key`)
  }
}
