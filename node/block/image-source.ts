/**
 * An image version as a `BlockSource` for the NBD server, readable while it is still being
 * pulled: a read covering chunks not yet held asks for them (`want`, so the pull can fetch
 * them first) and waits until each is verified and written, then reads the file. Chunks
 * already held are read from the file as they are (they were verified before they were
 * written). `onRead` sees the units each read needed, in order: what a boot profile records.
 */
import type { BlockSource } from './nbd-server.ts'

/** What of an image version the source needs (node/image-store's ImageVersion has it). */
export interface LazyImage {
  readonly table: {
    readonly offsets: Float64Array
    readonly lengths: Uint32Array
    readonly unitOf: Uint32Array
  }
  has: (u: number) => boolean
  whenHeld: (u: number, signal?: AbortSignal) => Promise<void>
  readRange: (offset: number, length: number) => Promise<Uint8Array>
}

export interface ImageSourceInit {
  /** the image's length in bytes */
  size: number
  /** told of units a read waits for, so they can be fetched ahead of the rest */
  want?: (units: number[]) => void
  /** told of the units every read covers, held or not */
  onRead?: (units: number[]) => void
}

/** Index of the chunk holding byte `offset` (offsets ascending, chunks back to back). */
export function chunkAt (offsets: Float64Array, offset: number): number {
  let lo = 0
  let hi = offsets.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (offsets[mid]! <= offset) lo = mid
    else hi = mid - 1
  }
  return lo
}

/** The units (distinct chunks) covering `[offset, offset + length)`, in order of first appearance. */
export function unitsCovering (table: Pick<LazyImage['table'], 'offsets' | 'unitOf'>, offset: number, length: number): number[] {
  const units: number[] = []
  const seen = new Set<number>()
  const end = offset + length
  for (let i = chunkAt(table.offsets, offset); i < table.offsets.length && table.offsets[i]! < end; i++) {
    const u = table.unitOf[i]!
    if (!seen.has(u)) { seen.add(u); units.push(u) }
  }
  return units
}

export function imageBlockSource (image: LazyImage, init: ImageSourceInit): BlockSource {
  return {
    size: init.size,
    async read (offset, length, signal) {
      const units = unitsCovering(image.table, offset, length)
      init.onRead?.(units)
      const missing = units.filter((u) => !image.has(u))
      if (missing.length > 0) {
        init.want?.(missing)
        await Promise.all(missing.map(async (u) => { await image.whenHeld(u, signal) }))
      }
      return await image.readRange(offset, length)
    }
  }
}
