/**
 * The peer protocol `/branchcast/chunks/1` (protocol/wire/chunk-protocol.ts): one frame
 * body (`decodeFrame`), and a whole stream cut into pieces (`readFrames`). Whatever decodes
 * must re-encode to the bytes it came from: a message has one encoding.
 */
import { createHash } from 'node:crypto'
import {
  FRAME, MAX_IDS_PER_REQUEST, MAX_TOKEN_BYTES, decodeFrame, encodeChunk, encodeDone, encodeMissing, encodeRefused, encodeRequest, readFrames
} from '../../../protocol/wire/chunk-protocol.ts'
import type { ChunkMessage } from '../../../protocol/wire/chunk-protocol.ts'
import { readVarint } from '../../../protocol/wire/varint.ts'
import { check, refusal } from '../target.ts'
import type { FuzzTarget } from '../target.ts'
import { text } from './fixtures.ts'

const sha = (s: string): string => createHash('sha256').update(s).digest('hex')
const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => sha(`id ${i}`))

function encodeMessage (m: ChunkMessage): Uint8Array {
  switch (m.type) {
    case 'request': return encodeRequest(m.token, m.ids)
    case 'chunk': return encodeChunk(m.id, m.data, m.compressed)
    case 'missing': return encodeMissing(m.id)
    case 'refused': return encodeRefused(m.code, m.message)
    case 'done': return encodeDone()
  }
}

/** One frame of each kind, at their edges (most ids, longest token and message). */
const FRAMES: Uint8Array[] = [
  encodeRequest('eyJ2IjoxfQ.c2ln', ids(1)),
  encodeRequest('t'.repeat(MAX_TOKEN_BYTES), ids(MAX_IDS_PER_REQUEST)),
  encodeChunk(sha('a'), text('hello chunk'), false),
  encodeChunk(sha('b'), Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0, 0x58, 1, 0, 0), true),
  encodeChunk(sha('c'), new Uint8Array(5000).fill(7), false),
  encodeMissing(sha('d')),
  encodeRefused('busy', 'upload slots full'),
  encodeRefused('invalid-token', 'é'.repeat(256)),
  encodeRefused('bad-request', ''),
  encodeDone()
]

const DICTIONARY = (): Uint8Array[] => [...Object.values(FRAME).map((t) => Uint8Array.of(t)), text('busy'), text('invalid-token'), text('bad-request'),
  text('\uFEFF'), Uint8Array.of(0xc0, 0x80), Uint8Array.of(0xed, 0xa0, 0x80), new Uint8Array(32)]

/** The body after the length prefix, for seeds of `decodeFrame`. */
const body = (frame: Uint8Array): Uint8Array => frame.subarray(readVarint(frame, 0)[1])

export const frameTarget: FuzzTarget = {
  name: 'frame',
  decoder: 'decodeFrame (protocol/wire/chunk-protocol.ts)',
  seeds: () => FRAMES.map(body),
  dictionary: DICTIONARY,
  run (input) {
    let m
    try {
      m = decodeFrame(input)
    } catch (err) {
      return refusal(err, ['ERR_CHUNK_PROTOCOL'])
    }
    check(Buffer.from(body(encodeMessage(m))).equals(input), `a ${m.type} frame decodes from bytes its encoder would not write`)
    return `ok ${m.type}`
  }
}

/** Piece sizes a stream is cut into, from tiny to larger than most frames; where in the cycle to start depends on the input. */
const PIECES = [1, 2, 3, 5, 8, 13, 64, 255, 4096]

async function * pieces (input: Uint8Array): AsyncGenerator<Uint8Array> {
  let k = input.length % PIECES.length
  for (let o = 0; o < input.length;) {
    const n = PIECES[k++ % PIECES.length]!
    yield input.subarray(o, o + n)
    o += n
  }
}

export const frameStreamTarget: FuzzTarget = {
  name: 'frame-stream',
  decoder: 'readFrames (protocol/wire/chunk-protocol.ts)',
  seeds: () => [Buffer.concat(FRAMES), ...FRAMES, Buffer.concat([FRAMES[0]!, FRAMES[5]!, FRAMES[9]!])],
  dictionary: DICTIONARY,
  async run (input) {
    const messages: ChunkMessage[] = []
    try {
      for await (const m of readFrames(pieces(input))) messages.push(m)
    } catch (err) {
      return refusal(err, ['ERR_CHUNK_PROTOCOL'])
    }
    check(Buffer.concat(messages.map(encodeMessage)).equals(input), 'a stream decodes from bytes its encoder would not write')
    return `ok ${Math.min(messages.length, 3)}`
  }
}
