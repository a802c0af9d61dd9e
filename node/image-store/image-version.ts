/**
 * One version of an image on disk: the image file itself (`<n>.img.partial` while chunks
 * are missing, `<n>.img` once ready) and its presence bitmap (`<n>.have`).
 *
 * Chunks handed to `put` are already verified. They are buffered, written at every offset
 * their id occupies (sorted, adjacent ones in one pwritev), and only then marked held in
 * memory (served, announced). Every IMAGE_SYNC_BATCH_BYTES or IMAGE_SYNC_INTERVAL_MS the
 * file is fdatasync'ed and the bits of what was written before that sync are saved: a bit
 * on disk is set only after its data is durable, so a crash (SIGKILL, power loss) can lose
 * bits but never claim data that is not there, and a resumed pull trusts the bits without
 * reading the data back.
 *
 * `put` copies each chunk into a write arena (a buffer of IMAGE_WRITE_BATCH_BYTES kept
 * for the pull and reused batch after batch), so the caller's buffer dies young: a chunk
 * held until its batch is written outlived a few scavenges, reached V8's old space and
 * stayed there as garbage until a full collection, which V8 starts only after external
 * memory grew by 64 MiB — the bulk of a pulling daemon's peak RSS (bench/RESULTS.md,
 * "Pull CPU"). Copying 64 KiB costs ~10 µs; the full collections it avoids cost more.
 */
import { open, rename } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { dirname } from 'node:path'
import { bitfieldBytes, hasBit, setBit } from '../../protocol/index.ts'
import type { Logger, Manifest } from '../../protocol/index.ts'
import {
  IMAGE_SYNC_BATCH_BYTES, IMAGE_SYNC_INTERVAL_MS, IMAGE_WRITE_BATCH_BYTES, IMAGE_WRITE_FLUSH_MS, IMAGE_WRITE_MAX_IOVECS
} from '../constants.ts'
import { indexHave, unitOffset, unitsFullyHeld } from '../pull/chunk-table.ts'
import type { ChunkTable } from '../pull/chunk-table.ts'
import { loadPresence, savePresence } from './presence.ts'
import { readvFully, writevFully } from './positioned-io.ts'
import type { VersionPaths } from './paths.ts'

function clearBit (bits: Uint8Array, i: number): void {
  bits[i >> 3] = bits[i >> 3]! & ~(0x80 >> (i & 7))
}

function isZero (bytes: Uint8Array): boolean {
  if (bytes[0] !== 0 || bytes[bytes.length - 1] !== 0) return false // most chunks exit here
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false
  return true
}

async function fsyncDir (path: string): Promise<void> {
  const fh = await open(dirname(path), 'r')
  try { await fh.sync() } finally { await fh.close() }
}

interface Pending { u: number, bytes: Uint8Array }

/** Spare write arenas a version keeps between batches (with the one filling and the one being written). */
const SPARE_ARENAS = 2

export class ImageVersion {
  readonly image: string
  readonly version: number
  readonly manifest: Manifest
  readonly table: ChunkTable
  readonly paths: VersionPaths
  /** units written (in memory: what is served and announced) */
  readonly #held: Uint8Array
  /** units whose data was durable when the bitmap was last (or will next be) saved */
  readonly #durable: Uint8Array
  #heldCount = 0
  #heldBytes = 0
  #ready: boolean
  /** created empty by this process: every unwritten byte is a hole that reads as zeros */
  readonly #fresh: boolean
  readonly #fh: FileHandle
  readonly #log: Logger
  // write buffer
  #pending: Pending[] = []
  #pendingBytes = 0
  /** the arena the pending batch's bytes are in (copies), and how much of it they fill */
  #arena: Uint8Array | undefined
  #arenaUsed = 0
  readonly #arenaBytes: number
  readonly #spareArenas: Uint8Array[] = []
  /** arenas allocated over this version's life (tests check that they are reused) */
  #arenasAllocated = 0
  /** bytes taken by put and not yet written (buffered, or in a batch being written) */
  #unwrittenBytes = 0
  readonly #queued: Uint8Array
  #timer: NodeJS.Timeout | undefined
  #writing: Promise<void> = Promise.resolve()
  #failure: unknown
  // durability
  #unsynced: number[] = []
  #unsyncedBytes = 0
  #lastSyncMs = Date.now()
  #syncing: Promise<void> = Promise.resolve()
  #syncQueued = false
  #closed = false
  /** callers of `whenHeld`, by unit */
  readonly #waiters = new Map<number, Set<() => void>>()

  private constructor (init: { manifest: Manifest, table: ChunkTable, paths: VersionPaths, fh: FileHandle, ready: boolean, fresh: boolean, held: Uint8Array, log: Logger }) {
    this.image = init.manifest.image
    this.version = init.manifest.version
    this.manifest = init.manifest
    this.table = init.table
    this.paths = init.paths
    this.#fh = init.fh
    this.#ready = init.ready
    this.#fresh = init.fresh
    this.#log = init.log
    this.#held = init.held
    this.#durable = init.held.slice()
    this.#queued = new Uint8Array(init.held.length)
    let longest = 0
    for (const len of init.table.unitLengths) if (len > longest) longest = len
    this.#arenaBytes = Math.max(IMAGE_WRITE_BATCH_BYTES, longest)
    for (let u = 0; u < init.table.units; u++) {
      if (hasBit(init.held, u)) { this.#heldCount++; this.#heldBytes += init.table.unitLengths[u]! }
    }
  }

  /**
   * Opens the version's file: the ready image, else the partial one with its bitmap, else
   * (with `create`) a new sparse partial file of the image's length. Undefined when there
   * is no file and `create` is false.
   */
  static async open (manifest: Manifest, table: ChunkTable, paths: VersionPaths, options: { create: boolean, log: Logger }): Promise<ImageVersion | undefined> {
    const units = bitfieldBytes(table.units)
    for (const [path, ready] of [[paths.image, true], [paths.partial, false]] as const) {
      let fh: FileHandle
      try { fh = await open(path, 'r+') } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue
        throw err
      }
      const { bits } = await loadPresence(paths.have, table.count)
      return new ImageVersion({ manifest, table, paths, fh, ready, fresh: false, held: unitsFullyHeld(table, bits), log: options.log })
    }
    if (!options.create) return undefined
    const fh = await open(paths.partial, 'wx+', 0o600)
    await fh.truncate(manifest.totalBytes)
    return new ImageVersion({ manifest, table, paths, fh, ready: false, fresh: true, held: new Uint8Array(units), log: options.log })
  }

  get ready (): boolean { return this.#ready }
  /** the current file: `.img` once ready, `.img.partial` before */
  get path (): string { return this.#ready ? this.paths.image : this.paths.partial }
  get complete (): boolean { return this.#heldCount === this.table.units }
  get heldBytes (): number { return this.#heldBytes }
  has (u: number): boolean { return hasBit(this.#held, u) }
  /** write arenas allocated so far: a pull of any size needs a few (they are reused) */
  get writeArenasAllocated (): number { return this.#arenasAllocated }

  /**
   * Resolves once unit `u` is held (written after verification, readable from the file):
   * at once if it is. Rejects when `signal` aborts or the version is closed first.
   */
  async whenHeld (u: number, signal?: AbortSignal): Promise<void> {
    if (this.has(u)) return
    signal?.throwIfAborted()
    if (this.#closed) throw new Error(`image ${this.image} v${this.version} is closed`)
    await new Promise<void>((resolve, reject) => {
      const waiters = this.#waiters.get(u) ?? new Set()
      this.#waiters.set(u, waiters)
      const onAbort = (): void => { done(); reject(signal!.reason) }
      const wake = (): void => {
        done()
        if (this.has(u)) resolve()
        else reject(new Error(`image ${this.image} v${this.version} is closed`))
      }
      const done = (): void => {
        signal?.removeEventListener('abort', onAbort)
        waiters.delete(wake)
        if (waiters.size === 0 && this.#waiters.get(u) === waiters) this.#waiters.delete(u)
      }
      waiters.add(wake)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** What this version holds as a have-bitfield over manifest indexes (for announces). */
  have (): { bits: Uint8Array, count: number } { return indexHave(this.table, this.#held) }

  /**
   * Takes verified chunk bytes of unit `u`, copied into the write arena before it returns
   * (the caller may reuse or drop `bytes` at once). Resolves once they are buffered; waits
   * while a full batch is written (back-pressure). Rejects with the write error of an
   * earlier batch (disk full …).
   */
  async put (u: number, bytes: Uint8Array): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure
    if (this.#closed) throw new Error(`image ${this.image} v${this.version} is closed`)
    if (bytes.length !== this.table.unitLengths[u]) throw new TypeError(`chunk ${u} has ${bytes.length} bytes, the list says ${this.table.unitLengths[u]}`)
    if (hasBit(this.#held, u) || hasBit(this.#queued, u)) return
    setBit(this.#queued, u)
    if (this.#arena === undefined || this.#arenaUsed + bytes.length > this.#arena.length) {
      if (this.#pending.length > 0) this.#drain().catch(() => {}) // the arena is full: write it
      this.#arena = this.#takeArena()
    }
    const copy = this.#arena.subarray(this.#arenaUsed, this.#arenaUsed + bytes.length)
    copy.set(bytes)
    this.#arenaUsed += bytes.length
    this.#pending.push({ u, bytes: copy })
    this.#pendingBytes += bytes.length
    this.#unwrittenBytes += bytes.length
    if (this.#unwrittenBytes >= 2 * IMAGE_WRITE_BATCH_BYTES) {
      // the disk is behind: wait for it, so memory stays bounded whatever the arrival rate
      await this.#drain()
    } else if (this.#pendingBytes >= IMAGE_WRITE_BATCH_BYTES) {
      this.#drain().catch(() => {})
    } else {
      this.#timer ??= setTimeout(() => { this.#drain().catch(() => {}) }, IMAGE_WRITE_FLUSH_MS)
    }
  }

  /** Writes what is buffered, then makes everything written durable and saves the bits. */
  async flush (): Promise<void> {
    await this.#drain()
    await this.#sync()
  }

  #drain (): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#pending.length > 0) {
      const batch = this.#pending
      const bytes = this.#pendingBytes
      const arena = this.#arena
      this.#pending = []
      this.#pendingBytes = 0
      this.#arena = undefined
      this.#writing = this.#writing.then(async () => { await this.#write(batch) }).finally(() => {
        this.#unwrittenBytes -= bytes
        if (arena !== undefined && this.#spareArenas.length < SPARE_ARENAS && !this.#closed) this.#spareArenas.push(arena)
      })
      this.#writing.catch((err: unknown) => { this.#failure ??= err })
    }
    return this.#writing
  }

  #takeArena (): Uint8Array {
    this.#arenaUsed = 0
    const spare = this.#spareArenas.pop()
    if (spare !== undefined) return spare
    this.#arenasAllocated++
    return new Uint8Array(this.#arenaBytes)
  }

  /** Lets the arenas go once nothing more is expected (a ready version, a closed one). */
  #dropArenas (): void {
    this.#spareArenas.length = 0
  }

  async #write (batch: Pending[]): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure
    const { table } = this
    const writes: Array<{ offset: number, bytes: Uint8Array }> = []
    for (const { u, bytes } of batch) {
      // a fresh file reads as zeros where nothing was written: zero chunks stay holes
      if (this.#fresh && isZero(bytes)) continue
      for (let k = table.unitIndexStart[u]!; k < table.unitIndexStart[u + 1]!; k++) writes.push({ offset: table.offsets[table.unitIndexes[k]!]!, bytes })
    }
    writes.sort((a, b) => a.offset - b.offset)
    for (let i = 0; i < writes.length;) {
      const start = writes[i]!.offset
      const run: Uint8Array[] = []
      let end = start
      while (i < writes.length && writes[i]!.offset === end && run.length < IMAGE_WRITE_MAX_IOVECS) {
        run.push(writes[i]!.bytes)
        end += writes[i]!.bytes.length
        i++
      }
      await writevFully(this.#fh, run, start)
    }
    for (const { u } of batch) {
      clearBit(this.#queued, u)
      if (hasBit(this.#held, u)) continue
      setBit(this.#held, u)
      this.#heldCount++
      this.#heldBytes += table.unitLengths[u]!
      this.#unsynced.push(u)
      this.#unsyncedBytes += table.unitLengths[u]!
      const waiters = this.#waiters.get(u)
      if (waiters !== undefined) for (const wake of [...waiters]) wake()
    }
    if (this.#unsyncedBytes >= IMAGE_SYNC_BATCH_BYTES || Date.now() - this.#lastSyncMs >= IMAGE_SYNC_INTERVAL_MS) {
      this.#sync().catch((err: unknown) => { this.#log.warn('image sync failed', { image: this.image, version: this.version, err }) })
    }
  }

  /** fdatasync, then the bits of what was written before it, then the bitmap file. */
  #sync (): Promise<void> {
    if (this.#syncQueued) return this.#syncing
    this.#syncQueued = true
    this.#syncing = this.#syncing.catch(() => {}).then(async () => {
      this.#syncQueued = false
      const units = this.#unsynced
      this.#unsynced = []
      this.#unsyncedBytes = 0
      this.#lastSyncMs = Date.now()
      await this.#fh.datasync()
      for (const u of units) if (hasBit(this.#held, u)) setBit(this.#durable, u)
      await this.#saveBits()
    })
    return this.#syncing
  }

  async #saveBits (): Promise<void> {
    await savePresence(this.paths.have, this.table.count, indexHave(this.table, this.#durable).bits)
  }

  /** The raw bytes of unit `u` as on disk (not verified here: the caller checks them). */
  async read (u: number): Promise<Uint8Array> {
    return await this.readRange(unitOffset(this.table, u), this.table.unitLengths[u]!)
  }

  async readRange (offset: number, length: number): Promise<Uint8Array> {
    const buf = Buffer.allocUnsafe(length)
    await this.readInto(offset, [buf])
    return buf
  }

  /** Fills `targets` back to back from `offset` of the image file, in one readv (not verified here). */
  async readInto (offset: number, targets: readonly Uint8Array[]): Promise<void> {
    if (this.#closed) throw new Error(`image ${this.image} v${this.version} is closed`)
    await readvFully(this.#fh, targets, offset)
  }

  /**
   * Unit `u` failed verification on disk: it is no longer held (not served, not
   * announced, fetched again by the next pull of this version). Saved at once.
   */
  async discard (u: number): Promise<void> {
    if (!hasBit(this.#held, u)) return
    clearBit(this.#held, u)
    clearBit(this.#durable, u)
    this.#heldCount--
    this.#heldBytes -= this.table.unitLengths[u]!
    await (this.#syncing = this.#syncing.catch(() => {}).then(async () => { await this.#saveBits() }))
  }

  /**
   * Every unit is in: flushes, syncs, and renames the partial file to the ready name (the
   * rename is the "ready" mark). A ready version being repaired just flushes.
   */
  async markReady (): Promise<void> {
    await this.flush()
    if (!this.complete) throw new Error(`image ${this.image} v${this.version} is missing ${this.table.units - this.#heldCount} chunks`)
    this.#dropArenas()
    if (this.#ready) return
    await rename(this.paths.partial, this.paths.image)
    await fsyncDir(this.paths.image)
    this.#ready = true
  }

  /** Flushes what is buffered (best effort) and closes the file. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.flush().catch((err: unknown) => { this.#log.warn('image flush on close failed', { image: this.image, version: this.version, err }) })
    this.#dropArenas()
    await this.#fh.close()
    for (const waiters of [...this.#waiters.values()]) for (const wake of [...waiters]) wake()
  }
}
