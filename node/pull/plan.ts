/**
 * The pure plan of a pull: which chunks (units) of the target version are already held
 * (its presence bitmap), which can be copied from an older version on this disk (trim
 * transfer: the same chunk id held there), and which must cross the wire.
 */
import type { ChunkTable } from './chunk-table.ts'

export interface LocalVersion {
  readonly table: ChunkTable
  has: (u: number) => boolean
}

export interface LocalCopy {
  /** unit of the target */
  unit: number
  /** index into the sources passed to planPull */
  source: number
  /** the same chunk's unit in that source */
  sourceUnit: number
}

export interface PullPlan {
  /** units to fetch from peers or the origin, ascending */
  needed: number[]
  /** units to copy from older versions on disk */
  copies: LocalCopy[]
  /** bytes of distinct chunks the target holds already */
  heldBytes: number
  /** bytes of distinct chunks to copy locally */
  copyBytes: number
}

/** Sources are tried in the order given (put the newest first: the likeliest to match). */
export function planPull (target: LocalVersion, sources: readonly LocalVersion[]): PullPlan {
  const { table } = target
  const needed: number[] = []
  const copies: LocalCopy[] = []
  let heldBytes = 0
  let copyBytes = 0
  for (let u = 0; u < table.units; u++) {
    if (target.has(u)) { heldBytes += table.unitLengths[u]!; continue }
    const id = table.unitIdBytes(u)
    let copy: LocalCopy | undefined
    for (let s = 0; s < sources.length && copy === undefined; s++) {
      const su = sources[s]!.table.unitOfIdBytes(id)
      if (su !== undefined && sources[s]!.has(su)) copy = { unit: u, source: s, sourceUnit: su }
    }
    if (copy === undefined) { needed.push(u); continue }
    copies.push(copy)
    copyBytes += table.unitLengths[u]!
  }
  return { needed, copies, heldBytes, copyBytes }
}
