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
    readonly unitOf: Uint32Array
  }
  has: (u: number) => boolean
  whenHeld: (u: number, signal?: AbortSignal) => Promise<void>
  readRange: (offset: number, length: number) => Promise<Uint8Array>
  /** bytes held so far (ImageVersion has it): with `stallMs`, what tells a stall from a slow flow */
  readonly heldBytes?: number
}

export interface ImageSourceInit {
  /** the image's length in bytes */
  size: number
  /** told of units a read waits for, so they can be fetched ahead of the rest */
  want?: (units: number[]) => void
  /** told of the units every read covers, held or not */
  onRead?: (units: number[]) => void
  /**
   * A read that has waited this long while no chunk of the image arrived (the node lost its
   * sources) gives up: `onStall` is told the units it waits for and the read rejects (EIO to
   * QEMU, whose `rerror=stop` pauses the guest until the node resumes it). Default: wait.
   */
  stallMs?: number
  onStall?: (units: number[]) => void
  /** counted into as reads come and go (what a lazy boot waited for: logged when the guest is up) */
  stats?: LazyReadStats
}

/** A lazily served image's reads: how many, and how long they waited for chunks. */
export interface LazyReadStats {
  reads: number
  bytes: number
  /** reads that waited for at least one chunk */
  waited: number
  /** their waits, summed (reads in parallel count each) and the longest, in ms */
  waitMs: number
  maxWaitMs: number
  /** every read's time from its request to its bytes, summed, in ms (waits included) */
  readMs: number
}

export function lazyReadStats (): LazyReadStats {
  return { reads: 0, bytes: 0, waited: 0, waitMs: 0, maxWaitMs: 0, readMs: 0 }
}

/** A read given up because nothing arrived for `stallMs`: the guest is paused, not failed. */
export class ReadStalledError extends Error {
  readonly code = 'ERR_READ_STALLED'
  readonly units: number[]
  constructor (units: number[], stallMs: number) {
    super(`no chunk arrived for ${stallMs} ms while a read waited for ${units.length} of them`)
    this.units = units
  }
}

/**
 * Waits until every unit in `missing` is held; with `stallMs`, rejects with ReadStalledError
 * once a whole `stallMs` passes with the image's held bytes unchanged.
 */
async function waitHeld (image: LazyImage, missing: number[], init: ImageSourceInit, signal: AbortSignal): Promise<void> {
  const waits = (s: AbortSignal): Promise<unknown> => Promise.all(missing.map(async (u) => { await image.whenHeld(u, s) }))
  if (init.stallMs === undefined) { await waits(signal); return }
  const giveUp = new AbortController()
  const all = waits(AbortSignal.any([signal, giveUp.signal])).then(() => true as const)
  all.catch(() => {})
  try {
    let seen = image.heldBytes
    for (;;) {
      let timer: NodeJS.Timeout | undefined
      const tick = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), init.stallMs) })
      const done = await Promise.race([all, tick]).finally(() => clearTimeout(timer))
      if (done) return
      const now = image.heldBytes
      if (now === undefined || now === seen) {
        const units = missing.filter((u) => !image.has(u))
        if (units.length === 0) return
        init.onStall?.(units)
        throw new ReadStalledError(units, init.stallMs)
      }
      seen = now
    }
  } finally {
    giveUp.abort()
  }
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
      const t0 = performance.now()
      const missing = units.filter((u) => !image.has(u))
      const stats = init.stats
      if (stats !== undefined) { stats.reads++; stats.bytes += length }
      if (missing.length > 0) {
        init.want?.(missing)
        const w0 = performance.now()
        await waitHeld(image, missing, init, signal)
        if (stats !== undefined) {
          const ms = performance.now() - w0
          stats.waited++
          stats.waitMs += ms
          stats.maxWaitMs = Math.max(stats.maxWaitMs, ms)
        }
      }
      const bytes = await image.readRange(offset, length)
      if (stats !== undefined) stats.readMs += performance.now() - t0
      return bytes
    }
  }
}
