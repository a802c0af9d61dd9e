/**
 * Mutation of valid encodings into nearly valid ones, in the manner of AFL's "havoc"
 * stage: a few stacked edits per input, each one of the mutators below. The edits that
 * matter for our formats get their own mutator: varint length fields set to boundary
 * values (and to non-minimal encodings), splices of two valid inputs, tokens of the
 * format's dictionary (magic numbers, field names) and long runs of one token (nesting).
 */
import type { Random } from './random.ts'
import { encodeVarint } from '../../protocol/wire/varint.ts'

export interface MutationContext {
  rng: Random
  /** inputs to splice with */
  corpus: readonly Uint8Array[]
  /** byte strings worth inserting */
  dictionary: readonly Uint8Array[]
  /** the mutator never returns more bytes than this */
  maxBytes: number
}

type Mutator = (bytes: Uint8Array, cx: MutationContext) => Uint8Array

const INTERESTING_BYTES = [0x00, 0x01, 0x02, 0x10, 0x20, 0x22, 0x2e, 0x3d, 0x40, 0x5c, 0x7f, 0x80, 0x81, 0xef, 0xfe, 0xff]
/** Boundaries of our limits: 4 MiB chunks, 2^26 chunks, 32- and 53-bit integers. */
const INTERESTING_NUMBERS = [
  0, 1, 2, 3, 7, 8, 31, 32, 33, 63, 64, 65, 127, 128, 255, 256, 511, 512, 1023, 1024, 1025, 2048, 4095, 4096, 16383, 16384,
  65535, 65536, 2 ** 21, 2 ** 22, 2 ** 22 + 1, 2 ** 22 + 64, 2 ** 24, 2 ** 26, 2 ** 26 + 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1,
  2 ** 32, 2 ** 32 + 1, 2 ** 52, 2 ** 53 - 2, 2 ** 53 - 1
]

const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.length }
  return out
}

function replace (bytes: Uint8Array, at: number, removeBytes: number, insert: Uint8Array): Uint8Array {
  return concat(bytes.subarray(0, at), insert, bytes.subarray(at + removeBytes))
}

function withByte (bytes: Uint8Array, at: number, value: number): Uint8Array {
  const out = bytes.slice()
  out[at] = value
  return out
}

/** Where a varint starting at `at` ends (exclusive), or `at + 1` if none does within 8 bytes. */
function varintEnd (bytes: Uint8Array, at: number): number {
  for (let i = at; i < Math.min(bytes.length, at + 8); i++) if ((bytes[i]! & 0x80) === 0) return i + 1
  return at + 1
}

function readLoose (bytes: Uint8Array, at: number, end: number): number {
  let value = 0
  for (let i = end - 1; i >= at; i--) value = value * 128 + (bytes[i]! & 0x7f)
  return value
}

/** A value near `current`, a boundary or a random one; always a varint can hold it (0..2^53-1). */
function interestingNumber (current: number, rng: Random): number {
  const candidates = [current + rng.pick([-2, -1, 1, 2]), current * 2, rng.below(2 ** 53), rng.pick(INTERESTING_NUMBERS)]
  return Math.min(2 ** 53 - 1, Math.max(0, Math.floor(rng.pick(candidates))))
}

const MUTATORS: Array<[string, Mutator]> = [
  ['flip a bit', (b, { rng }) => b.length === 0 ? b : ((at) => withByte(b, at, b[at]! ^ (1 << rng.below(8))))(rng.below(b.length))],
  ['set an interesting byte', (b, { rng }) => b.length === 0 ? b : withByte(b, rng.below(b.length), rng.pick(INTERESTING_BYTES))],
  ['add to a byte', (b, { rng }) => b.length === 0 ? b : ((at) => withByte(b, at, (b[at]! + rng.pick([-1, 1, -16, 16]) + rng.below(35)) & 0xff))(rng.below(b.length))],
  ['set a random byte', (b, { rng }) => b.length === 0 ? b : withByte(b, rng.below(b.length), rng.below(256))],
  ['delete a range', (b, { rng }) => b.length === 0 ? b : ((at) => replace(b, at, 1 + rng.small(b.length - at - 1), new Uint8Array(0)))(rng.below(b.length))],
  ['insert random bytes', (b, { rng }) => replace(b, rng.below(b.length + 1), 0, rng.bytes(1 + rng.small(64)))],
  ['duplicate a range', (b, { rng }) => {
    if (b.length === 0) return b
    const from = rng.below(b.length)
    return replace(b, rng.below(b.length + 1), 0, b.slice(from, from + 1 + rng.small(b.length - from - 1)))
  }],
  ['copy a range over another', (b, { rng }) => {
    if (b.length < 2) return b
    const from = rng.below(b.length)
    const piece = b.slice(from, from + 1 + rng.small(b.length - from - 1))
    const to = rng.below(b.length)
    return replace(b, to, Math.min(piece.length, b.length - to), piece)
  }],
  ['truncate', (b, { rng }) => b.subarray(0, rng.below(b.length + 1))],
  ['append', (b, { rng }) => concat(b, rng.chance(0.5) ? rng.bytes(1 + rng.small(256)) : new Uint8Array(1 + rng.small(1024)).fill(rng.pick(INTERESTING_BYTES)))],
  ['splice with another input', (b, { rng, corpus }) => {
    const other = rng.pick(corpus)
    return concat(b.subarray(0, rng.below(b.length + 1)), other.subarray(rng.below(other.length + 1)))
  }],
  ['edit a varint length field', (b, { rng }) => {
    if (b.length === 0) return b
    const at = rng.below(b.length)
    const end = varintEnd(b, at)
    let value = encodeVarint(interestingNumber(readLoose(b, at, end), rng))
    // now and then a non-minimal form of the same value: canonical decoders must refuse it
    if (rng.chance(0.1)) value = concat(value.slice(0, -1), Uint8Array.of(value[value.length - 1]! | 0x80, 0x00))
    return replace(b, at, end - at, value)
  }],
  ['edit a decimal number', (b, { rng }) => {
    const text = Buffer.from(b).toString('latin1')
    const numbers = [...text.matchAll(/-?\d+(\.\d+)?(e[+-]?\d+)?/gi)]
    if (numbers.length === 0) return b
    const m = rng.pick(numbers)
    const value = rng.pick([String(interestingNumber(Number(m[0]), rng)), '-1', '-0', '1e308', '1e999', '0.5', '9007199254740993', '-9007199254740993', '1' + '0'.repeat(400)])
    return replace(b, m.index, m[0].length, Buffer.from(value, 'latin1'))
  }],
  ['insert a dictionary token', (b, { rng, dictionary }) => dictionary.length === 0 ? b : replace(b, rng.below(b.length + 1), 0, rng.pick(dictionary))],
  ['overwrite with a dictionary token', (b, { rng, dictionary }) => {
    if (dictionary.length === 0 || b.length === 0) return b
    const token = rng.pick(dictionary)
    const at = rng.below(b.length)
    return replace(b, at, Math.min(token.length, b.length - at), token)
  }],
  ['repeat a token many times', (b, { rng, dictionary, maxBytes }) => {
    const token = dictionary.length > 0 && rng.chance(0.7) ? rng.pick(dictionary) : Uint8Array.of(rng.pick(INTERESTING_BYTES))
    const run = new Uint8Array(Math.min(maxBytes, token.length * 2 ** (1 + rng.below(14))))
    run.set(token.subarray(0, run.length))
    for (let filled = token.length; filled < run.length; filled *= 2) run.copyWithin(filled, 0, filled)
    return replace(b, rng.below(b.length + 1), 0, run)
  }],
  ['random bytes', (_, { rng }) => rng.bytes(rng.small(256))]
]

/** 1 to 16 stacked mutations of `input` (fewer far more often), capped at `maxBytes`. */
export function mutate (input: Uint8Array, cx: MutationContext): Uint8Array {
  let out = input
  const rounds = 1 + cx.rng.small(15)
  for (let i = 0; i < rounds; i++) {
    out = cx.rng.pick(MUTATORS)[1](out, cx)
    if (out.length > cx.maxBytes) out = out.subarray(0, cx.maxBytes)
  }
  return out === input ? input.slice() : out
}

export const MUTATOR_NAMES: readonly string[] = MUTATORS.map(([name]) => name)
