/**
 * An image version's chunk list as the puller and the image store need it: the manifest's
 * chunks by index (offsets, lengths) and the distinct chunk ids among them ("units": a
 * chunk of zeros may appear thousands of times but is fetched once and written at every
 * offset it occupies). Have-bitfields on the wire are over manifest indexes; the
 * scheduler and the presence bits work on units.
 */
import { bitfieldBytes, hasBit, setBit } from '../../protocol/index.ts'
import type { ChunkId } from '../../protocol/index.ts'

export interface ChunkTable {
  /** per manifest index */
  readonly ids: readonly ChunkId[]
  readonly offsets: Float64Array
  readonly lengths: Uint32Array
  /** per unit (distinct id) */
  readonly unitIds: readonly ChunkId[]
  readonly unitLengths: Uint32Array
  /** unit of each manifest index */
  readonly unitOf: Uint32Array
  readonly unitByIdMap: ReadonlyMap<ChunkId, number>
  /**
   * The manifest indexes of unit u are `unitIndexes[unitIndexStart[u] .. unitIndexStart[u + 1])`,
   * ascending: the offsets a verified chunk is written at.
   */
  readonly unitIndexStart: Uint32Array
  readonly unitIndexes: Uint32Array
}

export function buildChunkTable (refs: ReadonlyArray<{ id: ChunkId, length: number, offset: number }>): ChunkTable {
  const n = refs.length
  const offsets = new Float64Array(n)
  const lengths = new Uint32Array(n)
  const unitOf = new Uint32Array(n)
  const ids: ChunkId[] = new Array(n)
  const unitIds: ChunkId[] = []
  const unitLens: number[] = []
  const unitByIdMap = new Map<ChunkId, number>()
  refs.forEach((r, i) => {
    ids[i] = r.id
    offsets[i] = r.offset
    lengths[i] = r.length
    let u = unitByIdMap.get(r.id)
    if (u === undefined) {
      u = unitIds.length
      unitByIdMap.set(r.id, u)
      unitIds.push(r.id)
      unitLens.push(r.length)
    }
    unitOf[i] = u
  })
  // counting sort of indexes by unit: ascending within each unit
  const units = unitIds.length
  const unitIndexStart = new Uint32Array(units + 1)
  for (let i = 0; i < n; i++) unitIndexStart[unitOf[i]! + 1]!++
  for (let u = 0; u < units; u++) unitIndexStart[u + 1]! += unitIndexStart[u]!
  const fill = unitIndexStart.slice(0, units)
  const unitIndexes = new Uint32Array(n)
  for (let i = 0; i < n; i++) unitIndexes[fill[unitOf[i]!]!++] = i
  return { ids, offsets, lengths, unitIds, unitLengths: Uint32Array.from(unitLens), unitOf, unitByIdMap, unitIndexStart, unitIndexes }
}

/** The first offset of unit u in the image (where it is read from to serve or copy it). */
export function unitOffset (table: ChunkTable, u: number): number {
  return table.offsets[table.unitIndexes[table.unitIndexStart[u]!]!]!
}

/** A peer's have-bitfield over manifest indexes → over this table's units. */
export function unitHave (table: ChunkTable, indexHave: Uint8Array): Uint8Array {
  const out = new Uint8Array(bitfieldBytes(table.unitIds.length))
  for (let i = 0; i < table.unitOf.length; i++) if (hasBit(indexHave, i)) setBit(out, table.unitOf[i]!)
  return out
}

/** Our held units → a have-bitfield over manifest indexes, with its count. */
export function indexHave (table: ChunkTable, unitHeld: Uint8Array): { bits: Uint8Array, count: number } {
  const bits = new Uint8Array(bitfieldBytes(table.ids.length))
  let count = 0
  for (let i = 0; i < table.unitOf.length; i++) if (hasBit(unitHeld, table.unitOf[i]!)) { setBit(bits, i); count++ }
  return { bits, count }
}

/**
 * A have-bitfield over manifest indexes → held units: a unit counts only when every index
 * it occupies is set (its bits are set together once all its offsets are written).
 */
export function unitsFullyHeld (table: ChunkTable, indexBits: Uint8Array): Uint8Array {
  const out = new Uint8Array(bitfieldBytes(table.unitIds.length))
  for (let u = 0; u < table.unitIds.length; u++) {
    let all = true
    for (let k = table.unitIndexStart[u]!; k < table.unitIndexStart[u + 1]! && all; k++) all = hasBit(indexBits, table.unitIndexes[k]!)
    if (all) setBit(out, u)
  }
  return out
}
