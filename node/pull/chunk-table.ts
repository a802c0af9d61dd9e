/**
 * An image version's chunk list as the puller and the image store need it: the manifest's
 * chunks by index (offsets, lengths) and the distinct chunk ids among them ("units": a
 * chunk of zeros may appear thousands of times but is fetched once and written at every
 * offset it occupies). Have-bitfields on the wire are over manifest indexes; the
 * scheduler and the presence bits work on units.
 *
 * Memory is flat per chunk and holds no JavaScript object per chunk: the ids are 32-byte
 * binary SHA-256 digests side by side in one buffer, found by an open-addressing index
 * (linear probing, at most half full), and everything else is a typed array — about 60
 * bytes per chunk (8 MiB for the 131 072 chunks of an 8 GiB image) where hex strings and
 * a `Map` took ~200 (bench/RESULTS.md, "Pull CPU"). Ids become hex strings only at the
 * edges (the wire, logs, events), one at a time.
 */
import { bitfieldBytes, hasBit, isChunkId, setBit } from '../../protocol/index.ts'
import type { ChunkId } from '../../protocol/index.ts'

const ID_BYTES = 32
const ID_WORDS = ID_BYTES / 4

/** A zeroed buffer with an ArrayBuffer of its own (offset 0: its words can be viewed). */
function alignedBuffer (bytes: number): Buffer {
  return Buffer.from(new ArrayBuffer(bytes))
}

/** The smallest power of two ≥ 2 × n (≥ 8): the index stays at most half full. */
function slotCount (n: number): number {
  let c = 8
  while (c < 2 * n) c *= 2
  return c
}

export class ChunkTable {
  /** manifest indexes (entries of the chunk list) */
  readonly count: number
  /** distinct ids */
  readonly units: number
  /** byte offset of each manifest index in the image */
  readonly offsets: Float64Array
  /** per unit */
  readonly unitLengths: Uint32Array
  /** unit of each manifest index */
  readonly unitOf: Uint32Array
  /**
   * The manifest indexes of unit u are `unitIndexes[unitIndexStart[u] .. unitIndexStart[u + 1])`,
   * ascending: the offsets a verified chunk is written at.
   */
  readonly unitIndexStart: Uint32Array
  readonly unitIndexes: Uint32Array
  /** unit u's id at bytes [32u, 32u + 32) */
  readonly #ids: Buffer
  /** the same bytes as words, for the index's compares */
  readonly #words: Uint32Array
  /** open addressing: unit + 1 per slot, 0 = empty */
  readonly #slots: Uint32Array
  readonly #mask: number
  /** a lookup's id, parsed from hex */
  readonly #probe = alignedBuffer(ID_BYTES)
  readonly #probeWords = new Uint32Array(this.#probe.buffer, this.#probe.byteOffset, ID_WORDS)

  /** Use `createChunkTableBuilder` or `buildChunkTable`. */
  constructor (init: { offsets: Float64Array, unitOf: Uint32Array, unitLengths: Uint32Array, ids: Buffer, units: number }) {
    const n = init.offsets.length
    const units = init.units
    this.count = n
    this.units = units
    this.offsets = init.offsets
    this.unitOf = init.unitOf
    this.unitLengths = init.unitLengths.length === units ? init.unitLengths : init.unitLengths.slice(0, units)
    // ids in a buffer of their own, exactly sized and word-aligned
    if (init.ids.length === units * ID_BYTES && init.ids.byteOffset % 4 === 0) this.#ids = init.ids
    else {
      this.#ids = alignedBuffer(units * ID_BYTES)
      init.ids.copy(this.#ids, 0, 0, units * ID_BYTES)
    }
    this.#words = new Uint32Array(this.#ids.buffer, this.#ids.byteOffset, units * ID_WORDS)
    this.#slots = new Uint32Array(slotCount(units))
    this.#mask = this.#slots.length - 1
    for (let u = 0; u < units; u++) {
      let s = this.#words[u * ID_WORDS]! & this.#mask
      while (this.#slots[s] !== 0) s = (s + 1) & this.#mask
      this.#slots[s] = u + 1
    }
    // counting sort of indexes by unit: ascending within each unit
    const start = new Uint32Array(units + 1)
    for (let i = 0; i < n; i++) start[this.unitOf[i]! + 1]!++
    for (let u = 0; u < units; u++) start[u + 1]! += start[u]!
    const fill = start.slice(0, units)
    const indexes = new Uint32Array(n)
    for (let i = 0; i < n; i++) indexes[fill[this.unitOf[i]!]!++] = i
    this.unitIndexStart = start
    this.unitIndexes = indexes
  }

  /** Unit u's id as hex (for the wire, logs and events: a new string each call). */
  unitId (u: number): ChunkId {
    if (!(u >= 0 && u < this.units)) throw new RangeError(`unit ${u} out of range`)
    return this.#ids.toString('hex', u * ID_BYTES, (u + 1) * ID_BYTES)
  }

  /** Unit u's id as its 32 bytes (a view: do not modify). */
  unitIdBytes (u: number): Uint8Array {
    if (!(u >= 0 && u < this.units)) throw new RangeError(`unit ${u} out of range`)
    return this.#ids.subarray(u * ID_BYTES, (u + 1) * ID_BYTES)
  }

  /** The id at manifest index i, as hex. */
  idAt (i: number): ChunkId { return this.unitId(this.unitOf[i]!) }

  /** The length of the chunk at manifest index i. */
  lengthAt (i: number): number { return this.unitLengths[this.unitOf[i]!]! }

  /** The unit whose id is `id` (lowercase hex), or undefined: absent, or not an id at all. */
  unitOfId (id: ChunkId): number | undefined {
    if (!isChunkId(id)) return undefined
    this.#probe.write(id, 0, ID_BYTES, 'hex')
    return this.#find(this.#probeWords)
  }

  /** The unit whose id is these 32 bytes, or undefined. */
  unitOfIdBytes (id: Uint8Array): number | undefined {
    if (id.length !== ID_BYTES) return undefined
    this.#probe.set(id)
    return this.#find(this.#probeWords)
  }

  hasId (id: ChunkId): boolean { return this.unitOfId(id) !== undefined }

  /** Whether `digest` (32 bytes, a SHA-256 just computed) is unit u's id. */
  idEquals (u: number, digest: Uint8Array): boolean {
    if (digest.length !== ID_BYTES || !(u >= 0 && u < this.units)) return false
    return this.#ids.compare(digest, 0, ID_BYTES, u * ID_BYTES, (u + 1) * ID_BYTES) === 0
  }

  #find (w: Uint32Array): number | undefined {
    const words = this.#words
    for (let s = w[0]! & this.#mask; ; s = (s + 1) & this.#mask) {
      const slot = this.#slots[s]!
      if (slot === 0) return undefined
      const at = (slot - 1) * ID_WORDS
      if (words[at] === w[0] && words[at + 1] === w[1] && words[at + 2] === w[2] && words[at + 3] === w[3] &&
        words[at + 4] === w[4] && words[at + 5] === w[5] && words[at + 6] === w[6] && words[at + 7] === w[7]) return slot - 1
    }
  }
}

export interface ChunkTableBuilder {
  /** The next entry of the chunk list, in image order. */
  add: (id: ChunkId, length: number, offset: number) => void
  finish: () => ChunkTable
}

/**
 * Builds a table entry by entry (as the chunk list streams in) for a list of `count`
 * entries (the signed manifest's count): nothing per entry is kept beyond its typed-array
 * slots, so the hex strings the list decoder makes die young.
 */
export function createChunkTableBuilder (count: number): ChunkTableBuilder {
  if (!Number.isSafeInteger(count) || count < 0 || count > 0xffff_fffe) throw new TypeError('count must be a chunk count')
  const offsets = new Float64Array(count)
  const unitOf = new Uint32Array(count)
  const unitLengths = new Uint32Array(count)
  const ids = alignedBuffer(count * ID_BYTES)
  const words = new Uint32Array(ids.buffer, ids.byteOffset, count * ID_WORDS)
  const slots = new Uint32Array(slotCount(count))
  const mask = slots.length - 1
  let n = 0
  let units = 0
  return {
    add (id, length, offset) {
      if (n === count) throw new RangeError(`more than ${count} entries`)
      if (!isChunkId(id)) throw new TypeError('not a chunk id')
      const at = units * ID_WORDS
      ids.write(id, units * ID_BYTES, ID_BYTES, 'hex')
      let u = -1
      for (let s = words[at]! & mask; ; s = (s + 1) & mask) {
        const slot = slots[s]!
        if (slot === 0) { slots[s] = units + 1; unitLengths[units] = length; u = units++; break } // new: keep the bytes just written
        const o = (slot - 1) * ID_WORDS
        let same = true
        for (let k = 0; k < ID_WORDS && same; k++) same = words[o + k] === words[at + k]
        if (same) { u = slot - 1; break }
      }
      offsets[n] = offset
      unitOf[n] = u
      n++
    },
    finish () {
      if (n !== count) throw new RangeError(`${n} entries, expected ${count}`)
      return new ChunkTable({ offsets, unitOf, unitLengths, ids, units })
    }
  }
}

/** A table from a whole list of entries (tests, small lists). */
export function buildChunkTable (refs: ReadonlyArray<{ id: ChunkId, length: number, offset: number }>): ChunkTable {
  const b = createChunkTableBuilder(refs.length)
  for (const r of refs) b.add(r.id, r.length, r.offset)
  return b.finish()
}

/** The first offset of unit u in the image (where it is read from to serve or copy it). */
export function unitOffset (table: ChunkTable, u: number): number {
  return table.offsets[table.unitIndexes[table.unitIndexStart[u]!]!]!
}

/** A peer's have-bitfield over manifest indexes → over this table's units. */
export function unitHave (table: ChunkTable, indexHave: Uint8Array): Uint8Array {
  const out = new Uint8Array(bitfieldBytes(table.units))
  for (let i = 0; i < table.count; i++) if (hasBit(indexHave, i)) setBit(out, table.unitOf[i]!)
  return out
}

/** Our held units → a have-bitfield over manifest indexes, with its count. */
export function indexHave (table: ChunkTable, unitHeld: Uint8Array): { bits: Uint8Array, count: number } {
  const bits = new Uint8Array(bitfieldBytes(table.count))
  let count = 0
  for (let i = 0; i < table.count; i++) if (hasBit(unitHeld, table.unitOf[i]!)) { setBit(bits, i); count++ }
  return { bits, count }
}

/**
 * A have-bitfield over manifest indexes → held units: a unit counts only when every index
 * it occupies is set (its bits are set together once all its offsets are written).
 */
export function unitsFullyHeld (table: ChunkTable, indexBits: Uint8Array): Uint8Array {
  const out = new Uint8Array(bitfieldBytes(table.units))
  for (let u = 0; u < table.units; u++) {
    let all = true
    for (let k = table.unitIndexStart[u]!; k < table.unitIndexStart[u + 1]! && all; k++) all = hasBit(indexBits, table.unitIndexes[k]!)
    if (all) setBit(out, u)
  }
  return out
}
