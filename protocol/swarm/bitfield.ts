/**
 * The `have` bitfield of the swarm: bit i (of byte i >> 3, most significant bit first)
 * says a node holds chunk i of an image version (a manifest index). Nodes send it in
 * announces, the tracker hands it out with each peer, and the node's scheduler reads
 * peers' holdings through it. On the wire it is canonical base64; the tracker decodes it
 * strictly: no longer than the version needs, no bits set past the last chunk.
 */

import { decodeCanonicalBase64 } from '../signing/canonical-base64.ts'

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

export type BitfieldProblem = 'not-base64' | 'too-long' | 'bits-past-end'

export type BitfieldResult =
  | { ok: true, bits: Uint8Array, count: number }
  | { ok: false, problem: BitfieldProblem }

/** Bytes of a bitfield over `chunkCount` chunks. */
export function bitfieldBytes (chunkCount: number): number {
  return Math.ceil(chunkCount / 8)
}

/** Whether bit `i` is set; bits past the end of `bits` are clear. */
export function hasBit (bits: Uint8Array, i: number): boolean {
  return (i >> 3) < bits.length && (bits[i >> 3]! & (0x80 >> (i & 7))) !== 0
}

export function setBit (bits: Uint8Array, i: number): void {
  bits[i >> 3] = bits[i >> 3]! | (0x80 >> (i & 7))
}

/** A bitfield over `chunkCount` chunks with every one set (what a node holding the whole version announces). */
export function fullBitfield (chunkCount: number): Uint8Array {
  const bits = new Uint8Array(bitfieldBytes(chunkCount)).fill(0xff)
  const rest = chunkCount % 8
  if (rest !== 0) bits[bits.length - 1] = (0xff << (8 - rest)) & 0xff
  return bits
}

export function popcount (bits: Uint8Array): number {
  let n = 0
  for (let b of bits) {
    while (b !== 0) { b &= b - 1; n++ }
  }
  return n
}

/** The wire form of a bitfield: canonical base64. */
export function encodeHave (bits: Uint8Array): string {
  return Buffer.from(bits.buffer, bits.byteOffset, bits.byteLength).toString('base64')
}

/** Decode and check a base64 bitfield against a version of `chunkCount` chunks. */
export function decodeHave (base64: string, chunkCount: number): BitfieldResult {
  const maxBytes = bitfieldBytes(chunkCount)
  // Four base64 characters carry three bytes: refuse by length before decoding anything.
  if (base64.length > Math.ceil(maxBytes / 3) * 4) return { ok: false, problem: 'too-long' }
  if (!BASE64_RE.test(base64)) return { ok: false, problem: 'not-base64' }
  // Canonical only (no stray low bits in the last character): one spelling per bitfield.
  const decoded = decodeCanonicalBase64(base64, 'base64')
  if (decoded === undefined) return { ok: false, problem: 'not-base64' }
  const bits = new Uint8Array(decoded) // our own copy, not a view into Buffer's shared pool
  if (bits.length > maxBytes) return { ok: false, problem: 'too-long' }
  const tail = chunkCount % 8
  if (tail !== 0 && bits.length === maxBytes && (bits[maxBytes - 1]! & (0xff >> tail)) !== 0) return { ok: false, problem: 'bits-past-end' }
  return { ok: true, bits, count: popcount(bits) }
}
