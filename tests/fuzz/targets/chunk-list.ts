/**
 * A part of the chunk list (protocol/manifest/chunk-list.ts `decodeListPart`), given the
 * id of its own bytes so the parser always runs; what it accepts must re-encode to the
 * same bytes and respect the part caps.
 */
import { createHash } from 'node:crypto'
import { MAX_CHUNK_BYTES_CEILING } from '../../../protocol/chunking/chunking-params.ts'
import { LIST_PART_MAGIC, MAX_PART_BYTES, MAX_PART_ENTRIES, createChunkListBuilder, decodeListPart } from '../../../protocol/manifest/chunk-list.ts'
import type { ChunkRef } from '../../../protocol/manifest/chunk-list.ts'
import { chunkId, isChunkId } from '../../../protocol/store/chunk-id.ts'
import { encodeVarint } from '../../../protocol/wire/varint.ts'
import { check, refusal } from '../target.ts'
import type { FuzzTarget } from '../target.ts'
import { fixtureFiles } from './fixtures.ts'

const sha = (s: string): string => createHash('sha256').update(s).digest('hex')

/** Every part the builder cuts from `refs`. */
function parts (refs: ChunkRef[]): Uint8Array[] {
  const builder = createChunkListBuilder()
  const out = refs.map((r) => builder.add(r)?.bytes).filter((b) => b !== undefined)
  const last = builder.finish()
  return last === undefined ? out : [...out, last.bytes]
}

const LENGTHS = [1, 127, 128, 16383, 16384, 65536, MAX_CHUNK_BYTES_CEILING]

export const chunkListTarget: FuzzTarget = {
  name: 'chunk-list',
  decoder: 'decodeListPart (protocol/manifest/chunk-list.ts)',
  maxInputBytes: MAX_PART_BYTES + 1024,
  seeds: () => [
    ...fixtureFiles('BCL\x01'),
    ...parts(LENGTHS.map((length, i) => ({ id: sha(`chunk ${i}`), length }))),
    // a zero-filled disk: one id repeated until the forced cut
    parts(Array.from({ length: MAX_PART_ENTRIES }, () => ({ id: sha('zeros'), length: 65536 })))[0]!
  ],
  dictionary: () => [LIST_PART_MAGIC, encodeVarint(MAX_CHUNK_BYTES_CEILING), encodeVarint(MAX_CHUNK_BYTES_CEILING + 1), new Uint8Array(32)],
  run (input) {
    let refs
    try {
      refs = decodeListPart(input, chunkId(input))
    } catch (err) {
      return refusal(err)
    }
    check(refs.length >= 1 && refs.length <= MAX_PART_ENTRIES, `${refs.length} entries`)
    check(refs.every((r) => isChunkId(r.id) && Number.isSafeInteger(r.length) && r.length >= 1 && r.length <= MAX_CHUNK_BYTES_CEILING), 'an entry out of range')
    const again = Buffer.concat([LIST_PART_MAGIC, ...refs.flatMap((r) => [Buffer.from(r.id, 'hex'), encodeVarint(r.length)])])
    check(again.equals(input), 'a list part decodes from bytes its encoder would not write')
    return 'ok'
  }
}
