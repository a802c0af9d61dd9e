/**
 * The `have` bitfield a node announces: bit i (of byte i >> 3, most significant bit first)
 * says it holds chunk i of the version. Decoded strictly: canonical base64 only, no longer
 * than the version needs, no bits set past the last chunk.
 */

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

export type BitfieldProblem = 'not-base64' | 'too-long' | 'bits-past-end'

export type BitfieldResult =
  | { ok: true, bits: Uint8Array, count: number }
  | { ok: false, problem: BitfieldProblem }

export function bitfieldBytes (chunkCount: number): number {
  return Math.ceil(chunkCount / 8)
}

/** Decode and check a base64 bitfield against a version of `chunkCount` chunks. */
export function decodeHave (base64: string, chunkCount: number): BitfieldResult {
  const maxBytes = bitfieldBytes(chunkCount)
  // Four base64 characters carry three bytes: refuse by length before decoding anything.
  if (base64.length > Math.ceil(maxBytes / 3) * 4) return { ok: false, problem: 'too-long' }
  if (!BASE64_RE.test(base64)) return { ok: false, problem: 'not-base64' }
  const bits = new Uint8Array(Buffer.from(base64, 'base64'))
  if (bits.length > maxBytes) return { ok: false, problem: 'too-long' }
  const tail = chunkCount % 8
  if (tail !== 0 && bits.length === maxBytes && (bits[maxBytes - 1]! & (0xff >> tail)) !== 0) return { ok: false, problem: 'bits-past-end' }
  return { ok: true, bits, count: popcount(bits) }
}

export function popcount (bits: Uint8Array): number {
  let n = 0
  for (let b of bits) {
    while (b !== 0) { b &= b - 1; n++ }
  }
  return n
}

export function encodeHave (bits: Uint8Array): string {
  return Buffer.from(bits.buffer, bits.byteOffset, bits.byteLength).toString('base64')
}
