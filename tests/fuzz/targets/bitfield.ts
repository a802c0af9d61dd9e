/**
 * The `have` bitfield a node announces (protocol/swarm/bitfield.ts `decodeHave`). Input: two bytes of chunk count, then the base64 text. The decoder
 * returns a result and never throws; what it accepts must fit the version.
 */
import { bitfieldBytes, decodeHave, encodeHave, popcount } from '../../../protocol/swarm/bitfield.ts'
import { check } from '../target.ts'
import type { FuzzTarget } from '../target.ts'
import { text } from './fixtures.ts'

const COUNTS = [0, 1, 7, 8, 9, 200, 1000, 65535]

function seed (count: number): Uint8Array {
  const bits = Uint8Array.from({ length: bitfieldBytes(count) }, (_, i) => (i * 167 + count) & 0xff)
  if (count % 8 !== 0) bits[bits.length - 1]! &= 0xff << (8 - (count % 8))
  return new Uint8Array(Buffer.concat([Uint8Array.of(count >> 8, count & 0xff), text(encodeHave(bits))]))
}

export const bitfieldTarget: FuzzTarget = {
  name: 'bitfield',
  decoder: 'decodeHave (protocol/swarm/bitfield.ts)',
  maxInputBytes: 16 * 1024,
  seeds: () => COUNTS.map(seed),
  dictionary: () => ['=', '==', '+', '/', '-', '_', 'A', 'AA', 'AAA=', '////', ' ', '\n'].map(text),
  run (input) {
    const count = input.length < 2 ? 0 : (input[0]! << 8) | input[1]!
    const base64 = Buffer.from(input.subarray(2)).toString('latin1')
    const r = decodeHave(base64, count)
    if (!r.ok) return r.problem
    const tail = count % 8
    check(r.bits.length <= bitfieldBytes(count), 'a bitfield longer than the version')
    check(tail === 0 || r.bits.length < bitfieldBytes(count) || (r.bits[r.bits.length - 1]! & (0xff >> tail)) === 0, 'bits set past the last chunk')
    check(r.count === popcount(r.bits), 'count is not the bits set')
    // Not `encodeHave(r.bits) === base64`: decodeHave also takes spellings with the last
    // character's unused bits set ("AT==" for "AQ=="), contrary to its comment. Harmless (the
    // bitfield is not signed and every spelling means the same bits) and in tracker/, so
    // recorded in docs/security.md (Fuzzing) for the swarm's owner; the meaning is checked.
    check(Buffer.from(base64, 'base64').equals(r.bits), 'a bitfield decodes to other bits than its text says')
    return 'ok'
  }
}
