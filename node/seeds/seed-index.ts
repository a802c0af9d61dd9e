/**
 * The seed index: chunk ids of local files (the roots the config names) cut with the
 * chunking parameters of the images this node holds, and of the node's other images (read
 * through the image store, no re-chunking). Built in the background at a capped read rate,
 * persisted in `<dataDir>/seeds.index`, incremental (a file whose size, mtime and inode
 * are unchanged is not read again; a file gone is dropped), and usable while it grows.
 */
import { constants as fsConstants } from 'node:fs'
import { open, readFile, stat } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { setImmediate as turn, setTimeout as sleep } from 'node:timers/promises'
import { chunkId, chunkStream, cutCandidates, DEFAULT_CHUNKING, findBoundary } from '../../protocol/index.ts'
import type { ChunkId, ChunkingParams, Logger } from '../../protocol/index.ts'
import type { ImageStore } from '../image-store/index.ts'
import type { ChunkTable, LocalChunkSource } from '../pull/index.ts'
import { writeFileAtomic } from '../state-file.ts'
import {
  DEFAULT_SEED_MAX_CHUNKS, DEFAULT_SEED_MAX_DEPTH, DEFAULT_SEED_MAX_FILES, DEFAULT_SEED_READ_BYTES_PER_SEC,
  DEFAULT_SEED_RESCAN_INTERVAL_MS, MAX_SEED_PARAM_SETS, SEED_INDEX_FILE, SEED_PERSIST_INTERVAL_MS, SEED_READ_BYTES
} from './constants.ts'
import { decodeSeedIndex, encodeSeedIndex, maxIndexFileBytes } from './index-file.ts'
import type { SeedFile } from './index-file.ts'
import { walkSeedRoots } from './walk.ts'
import type { SeedCandidate } from './walk.ts'
import type { SeedIndex, SeedIndexComponents, SeedIndexInit, SeedIndexStatus } from './index.ts'

interface ParamSet {
  params: ChunkingParams
  files: Map<string, SeedFile>
  lookup: Map<ChunkId, { file: SeedFile, k: number }>
  /** files were dropped since the lookup was last completed */
  relink: boolean
}

/** Bytes of a file's start kept for the shifted runs, in maximum chunk lengths: where an image's first cut in the file lies (≤ 1), and room to fall in step. */
const HEAD_CHUNKS = 3

/**
 * A file inside an image starts inside a chunk that began before it, so the image's chunks
 * over the file start at its first cut there — any place the gear hash allows one — not
 * at the file's first byte. From each such place in the first `maxBytes`, the chunks the
 * image would have, until they fall in step with cuts already known (usually one or two).
 */
function addShiftedStarts (head: Buffer, size: number, params: ChunkingParams, cuts: Set<number>, add: (id: ChunkId, offset: number, length: number) => void): void {
  for (const start of cutCandidates(head, 0, Math.min(head.length, params.maxBytes), params)) {
    if (cuts.has(start)) continue
    cuts.add(start)
    for (let s = start; s < head.length;) {
      const e = findBoundary(head, s, head.length, params)
      if (e === head.length && head.length < size) break // not in step within the head: give up on this start
      add(chunkId(head.subarray(s, e)), s, e - s)
      if (cuts.has(e)) break
      cuts.add(e)
      s = e
    }
  }
}

const keyOf = (p: ChunkingParams): string => `${p.minBytes}/${p.avgBytes}/${p.maxBytes}`
const sameFile = (f: SeedFile, c: { size: number, mtimeMs: number, ino: number }): boolean => f.size === c.size && f.mtimeMs === c.mtimeMs && f.ino === c.ino

export class DiskSeedIndex implements SeedIndex {
  readonly #roots: readonly string[]
  readonly #path: string
  readonly #maxChunks: number
  readonly #maxFiles: number
  readonly #maxDepth: number
  readonly #readBytesPerSec: number
  readonly #rescanMs: number
  readonly #images: ImageStore | undefined
  readonly #log: Logger
  readonly #sets = new Map<string, ParamSet>()
  readonly #sources: readonly LocalChunkSource[]
  /** the ready versions of the node's images: their chunk tables answer by id (no copy of the ids here) */
  #imageTables: Array<{ name: string, table: ChunkTable }> = []
  #imageParams: ChunkingParams[] = []
  #imagesRefresh: Promise<void> = Promise.resolve()
  #chunks = 0
  #full = false
  #dirty = false
  #indexing = false
  #passes = 0
  /** resolves when the first pass since start has ended, whatever its outcome */
  #firstPassEnded: () => void = () => {}
  readonly #firstPass = new Promise<void>((resolve) => { this.#firstPassEnded = resolve })
  #filesRead = 0
  #bytesRead = 0
  #lastSaveMs = 0
  // read-rate throttle: bytes read since #rateStartMs
  #rateStartMs = 0
  #rateBytes = 0
  #stop = new AbortController()
  #loop: Promise<void> | undefined
  #wake: (() => void) | undefined
  #waiters: Array<{ resolve: () => void, reject: (err: unknown) => void }> = []

  constructor (init: SeedIndexInit, components: SeedIndexComponents) {
    this.#roots = [...init.roots]
    this.#path = join(init.dataDir, SEED_INDEX_FILE)
    this.#maxChunks = init.maxChunks ?? DEFAULT_SEED_MAX_CHUNKS
    this.#maxFiles = init.maxFiles ?? DEFAULT_SEED_MAX_FILES
    this.#maxDepth = init.maxDepth ?? DEFAULT_SEED_MAX_DEPTH
    this.#readBytesPerSec = init.readBytesPerSec ?? DEFAULT_SEED_READ_BYTES_PER_SEC
    this.#rescanMs = init.rescanIntervalMs ?? DEFAULT_SEED_RESCAN_INTERVAL_MS
    this.#images = components.images
    this.#log = components.logger.forComponent('node:seeds')
    const seeds: LocalChunkSource = {
      kind: 'seed',
      name: 'seed files',
      has: (id) => this.#find(id) !== undefined,
      read: async (id, length) => await this.#readSeed(id, length)
    }
    const images: LocalChunkSource = {
      kind: 'image',
      name: 'other images',
      has: (id) => this.#imageOf(id) !== undefined,
      read: async (id, length) => {
        const name = this.#imageOf(id)
        if (name === undefined || this.#images === undefined) return undefined
        const held = await this.#images.read(name, id).catch(() => undefined)
        return held?.data.length === length ? held.data : undefined
      }
    }
    this.#sources = this.#images === undefined ? [seeds] : [seeds, images]
  }

  sources (): readonly LocalChunkSource[] { return this.#sources }

  status (): SeedIndexStatus {
    let files = 0
    for (const s of this.#sets.values()) files += s.files.size
    return {
      roots: [...this.#roots],
      paramSets: [...this.#sets.values()].map((s) => ({ ...s.params })),
      files,
      chunks: this.#chunks,
      maxChunks: this.#maxChunks,
      full: this.#full,
      indexing: this.#indexing,
      passes: this.#passes,
      filesRead: this.#filesRead,
      bytesRead: this.#bytesRead,
      imageChunks: this.#imageTables.reduce((n, t) => n + t.table.units, 0)
    }
  }

  async start (): Promise<void> {
    if (this.#loop !== undefined) return
    await this.#load()
    this.#loop = this.#run()
  }

  async stop (): Promise<void> {
    this.#stop.abort()
    this.#wake?.()
    await this.#loop
    await this.#imagesRefresh
    if (this.#dirty) await this.#save()
  }

  async whenIndexed (options: { signal?: AbortSignal, maxWaitMs: number }): Promise<boolean> {
    if (this.#roots.length === 0 || this.#passes > 0) return true
    if (this.#loop === undefined || this.#stop.signal.aborted) return false
    let timer: NodeJS.Timeout | undefined
    let onAbort: (() => void) | undefined
    try {
      return await Promise.race([
        this.#firstPass.then(() => true),
        new Promise<boolean>((resolve) => { timer = setTimeout(() => { resolve(false) }, options.maxWaitMs) }),
        new Promise<boolean>((_resolve, reject) => {
          options.signal?.throwIfAborted()
          onAbort = () => { reject(options.signal!.reason) }
          options.signal?.addEventListener('abort', onAbort, { once: true })
        })
      ])
    } finally {
      clearTimeout(timer)
      if (onAbort !== undefined) options.signal?.removeEventListener('abort', onAbort)
    }
  }

  async refresh (options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#loop === undefined || this.#stop.signal.aborted) throw new TypeError('the seed index is not running')
    const done = new Promise<void>((resolve, reject) => { this.#waiters.push({ resolve, reject }) })
    this.#wake?.()
    if (options.signal === undefined) { await done; return }
    await Promise.race([done, new Promise<never>((_resolve, reject) => {
      options.signal!.throwIfAborted()
      options.signal!.addEventListener('abort', () => { reject(options.signal!.reason) }, { once: true })
    })])
  }

  imagesChanged (): void {
    this.#imagesRefresh = this.#imagesRefresh.then(async () => {
      const before = this.#wantedKeys().join()
      await this.#refreshImages()
      if (this.#wantedKeys().join() !== before) this.#wake?.() // an image with other parameters: index for it
    }).catch((err: unknown) => { this.#log.warn('cannot list the other images', { err }) })
  }

  // ---- background loop ------------------------------------------------------------------

  async #run (): Promise<void> {
    const signal = this.#stop.signal
    while (!signal.aborted) {
      const waiters = this.#waiters.splice(0)
      try {
        await this.#pass(signal)
        for (const w of waiters) w.resolve()
      } catch (err) {
        if (signal.aborted) { this.#waiters.unshift(...waiters); break }
        this.#log.warn('seed index pass failed', { err })
        for (const w of waiters) w.reject(err)
      } finally {
        this.#firstPassEnded()
      }
      if (this.#waiters.length > 0 || signal.aborted) continue
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => { this.#wake = undefined; resolve() }, this.#rescanMs)
        this.#wake = () => { clearTimeout(t); this.#wake = undefined; resolve() }
      })
    }
    this.#firstPassEnded()
    for (const w of this.#waiters.splice(0)) w.reject(signal.reason)
  }

  #wantedKeys (): string[] {
    const wanted = new Map<string, ChunkingParams>([[keyOf(DEFAULT_CHUNKING), { ...DEFAULT_CHUNKING }]])
    for (const p of this.#imageParams) if (wanted.size < MAX_SEED_PARAM_SETS) wanted.set(keyOf(p), p)
    return [...wanted.keys()]
  }

  async #pass (signal: AbortSignal): Promise<void> {
    this.#indexing = true
    this.#full = false
    try {
      await this.#refreshImages()
      this.#syncParamSets()
      const { files } = await walkSeedRoots(this.#roots, { maxFiles: this.#maxFiles, maxDepth: this.#maxDepth, signal }, this.#log)
      const present = new Set(files.map((f) => f.path))
      for (const set of this.#sets.values()) {
        for (const f of [...set.files.values()]) if (!present.has(f.path)) this.#drop(set, f)
        this.#relink(set)
      }
      for (const set of this.#sets.values()) {
        for (const c of files) {
          signal.throwIfAborted()
          const old = set.files.get(c.path)
          if (old !== undefined && sameFile(old, c)) continue
          if (old !== undefined) this.#drop(set, old)
          // a file shorter than a chunk is never a whole chunk of an image (bar its very end)
          if (this.#full || c.size < set.params.minBytes) continue
          const file = await this.#indexFile(c, set.params, signal)
          if (file !== undefined) this.#add(set, file)
          if (this.#dirty && Date.now() - this.#lastSaveMs > SEED_PERSIST_INTERVAL_MS) await this.#save()
        }
        this.#relink(set)
      }
      if (this.#dirty) await this.#save()
      this.#passes++
    } finally {
      this.#indexing = false
    }
  }

  /** Parameter sets: the default and those of the images held; sets nothing uses any more are dropped. */
  #syncParamSets (): void {
    const wanted = this.#wantedKeys()
    for (const [key, set] of this.#sets) {
      if (wanted.includes(key)) continue
      for (const f of set.files.values()) this.#chunks -= f.ids.length
      this.#sets.delete(key)
      this.#dirty = true
    }
    for (const key of wanted) {
      if (this.#sets.has(key)) continue
      const [minBytes, avgBytes, maxBytes] = key.split('/').map(Number) as [number, number, number]
      this.#sets.set(key, { params: { minBytes, avgBytes, maxBytes }, files: new Map(), lookup: new Map(), relink: false })
    }
  }

  async #refreshImages (): Promise<void> {
    if (this.#images === undefined) return
    const tables: Array<{ name: string, table: ChunkTable }> = []
    const params = new Map<string, ChunkingParams>()
    for (const name of await this.#images.heldImages()) {
      for (const v of await this.#images.versions(name)) {
        params.set(keyOf(v.manifest.chunking), { ...v.manifest.chunking })
        if (v.ready) tables.push({ name, table: v.table })
      }
    }
    this.#imageTables = tables
    this.#imageParams = [...params.values()]
  }

  // ---- the index in memory ----------------------------------------------------------------

  /** The image a ready version of which lists `id`. */
  #imageOf (id: ChunkId): string | undefined {
    for (const t of this.#imageTables) if (t.table.hasId(id)) return t.name
    return undefined
  }

  #find (id: ChunkId): { file: SeedFile, k: number } | undefined {
    for (const set of this.#sets.values()) {
      const hit = set.lookup.get(id)
      if (hit !== undefined) return hit
    }
    return undefined
  }

  #add (set: ParamSet, file: SeedFile): void {
    if (this.#chunks + file.ids.length > this.#maxChunks) {
      if (!this.#full) this.#log.warn('seed index full: files beyond the cap are not indexed until others go', { maxChunks: this.#maxChunks, chunks: this.#chunks })
      this.#full = true
      return
    }
    set.files.set(file.path, file)
    this.#chunks += file.ids.length
    file.ids.forEach((id, k) => { if (!set.lookup.has(id)) set.lookup.set(id, { file, k }) })
    this.#dirty = true
  }

  /** Forgets `file`; ids it was the lookup's entry for are gone until `#relink` (once, after a batch of drops). */
  #drop (set: ParamSet, file: SeedFile): void {
    if (set.files.get(file.path) !== file) return
    set.files.delete(file.path)
    this.#chunks -= file.ids.length
    this.#dirty = true
    for (const id of file.ids) {
      if (set.lookup.get(id)?.file === file) { set.lookup.delete(id); set.relink = true }
    }
  }

  /** Points ids a dropped file held back at another file holding them. */
  #relink (set: ParamSet): void {
    if (!set.relink) return
    set.relink = false
    for (const f of set.files.values()) f.ids.forEach((id, k) => { if (!set.lookup.has(id)) set.lookup.set(id, { file: f, k }) })
  }

  #setOf (file: SeedFile): ParamSet | undefined {
    for (const set of this.#sets.values()) if (set.files.get(file.path) === file) return set
    return undefined
  }

  // ---- files ------------------------------------------------------------------------------

  async #openSeed (path: string): Promise<FileHandle> {
    // below a root, a path that became a link is not followed; the root itself was named
    const flags = this.#roots.includes(path) ? fsConstants.O_RDONLY : fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW
    return await open(path, flags)
  }

  async #readSeed (id: ChunkId, length: number): Promise<Uint8Array | undefined> {
    const hit = this.#find(id)
    if (hit === undefined) return undefined
    const { file, k } = hit
    if (file.lengths[k] !== length) return undefined
    let fh: FileHandle | undefined
    try {
      fh = await this.#openSeed(file.path)
      const st = await fh.stat()
      if (!st.isFile() || !sameFile(file, st)) {
        // changed under us: not used, and read again at the next pass
        this.#log.info('seed file changed since it was indexed: skipped until re-indexed', { path: file.path })
        const set = this.#setOf(file)
        if (set !== undefined) this.#drop(set, file)
        this.#wake?.()
        return undefined
      }
      const buf = Buffer.allocUnsafe(length)
      let got = 0
      while (got < length) {
        const { bytesRead } = await fh.read(buf, got, length - got, file.offsets[k]! + got)
        if (bytesRead === 0) return undefined
        got += bytesRead
      }
      return buf
    } catch (err) {
      this.#log.debug('seed read failed', { path: file.path, reason: (err as NodeJS.ErrnoException).code ?? String(err) })
      return undefined
    } finally {
      await fh?.close().catch(() => {})
    }
  }

  async #indexFile (c: SeedCandidate, params: ChunkingParams, signal: AbortSignal): Promise<SeedFile | undefined> {
    let fh: FileHandle
    try { fh = await this.#openSeed(c.path) } catch (err) {
      this.#log.warn('seed file skipped: cannot open it', { path: c.path, reason: (err as NodeJS.ErrnoException).code ?? String(err) })
      return undefined
    }
    try {
      const before = await fh.stat()
      if (!before.isFile() || !sameFile({ ...c, ids: [], offsets: [], lengths: [], path: c.path }, before)) return undefined // changed since the walk
      this.#filesRead++
      const file: SeedFile = { path: c.path, size: before.size, mtimeMs: before.mtimeMs, ino: before.ino, ids: [], offsets: [], lengths: [] }
      const seen = new Set<ChunkId>()
      const add = (id: ChunkId, offset: number, length: number): void => {
        if (seen.has(id)) return
        seen.add(id)
        file.ids.push(id)
        file.offsets.push(offset)
        file.lengths.push(length)
      }
      const head = Buffer.allocUnsafe(Math.min(before.size, HEAD_CHUNKS * params.maxBytes))
      const cuts = new Set<number>()
      for await (const chunk of chunkStream(this.#readAll(fh, before.size, head, signal), params, { signal })) {
        add(chunk.id, chunk.offset, chunk.length)
        if (chunk.offset + chunk.length < head.length) cuts.add(chunk.offset + chunk.length)
      }
      addShiftedStarts(head, before.size, params, cuts, add)
      const after = await fh.stat()
      if (!sameFile(file, after)) return undefined // written while we read it: next pass
      return file
    } catch (err) {
      if (signal.aborted) throw err
      this.#log.warn('seed file skipped: read failed', { path: c.path, reason: (err as NodeJS.ErrnoException).code ?? String(err) })
      return undefined
    } finally {
      await fh.close().catch(() => {})
    }
  }

  /** The file's bytes in fresh buffers (the chunker keeps views; the first ones copied into `head`), a turn of the event loop and the rate cap between reads. */
  async * #readAll (fh: FileHandle, size: number, head: Buffer, signal: AbortSignal): AsyncGenerator<Uint8Array> {
    let pos = 0
    while (pos < size) {
      const buf = Buffer.allocUnsafe(Math.min(SEED_READ_BYTES, size - pos))
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos)
      if (bytesRead === 0) return
      if (pos < head.length) buf.copy(head, pos, 0, Math.min(bytesRead, head.length - pos))
      pos += bytesRead
      this.#bytesRead += bytesRead
      yield buf.subarray(0, bytesRead)
      await this.#throttle(bytesRead, signal)
    }
  }

  async #throttle (bytes: number, signal: AbortSignal): Promise<void> {
    await turn()
    const now = Date.now()
    if (now - this.#rateStartMs > 10_000) { this.#rateStartMs = now; this.#rateBytes = 0 }
    this.#rateBytes += bytes
    const aheadMs = this.#rateBytes / this.#readBytesPerSec * 1000 - (now - this.#rateStartMs)
    if (aheadMs > 1) await sleep(aheadMs, undefined, { signal })
  }

  #underRoot (path: string): boolean {
    return this.#roots.some((r) => path === r || path.startsWith(r.endsWith('/') ? r : `${r}/`))
  }

  // ---- persistence ------------------------------------------------------------------------

  async #load (): Promise<void> {
    let bytes: Uint8Array
    try {
      const st = await stat(this.#path)
      if (st.size > maxIndexFileBytes(this.#maxChunks)) throw new Error('larger than any index within the cap')
      bytes = await readFile(this.#path)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.#log.warn('seed index unreadable: rebuilding it', { reason: (err as Error).message })
      return
    }
    try {
      for (const s of decodeSeedIndex(bytes, this.#maxChunks)) {
        const set: ParamSet = { params: s.params, files: new Map(), lookup: new Map(), relink: false }
        this.#sets.set(keyOf(s.params), set)
        // an entry outside today's roots is never read (the config changed, or the file was edited)
        for (const f of s.files) if (this.#underRoot(f.path)) this.#add(set, f)
      }
      this.#dirty = false
      this.#log.info('seed index loaded', { files: this.status().files, chunks: this.#chunks })
    } catch (err) {
      this.#sets.clear()
      this.#chunks = 0
      this.#log.warn('seed index unreadable: rebuilding it', { reason: (err as Error).message })
    }
  }

  async #save (): Promise<void> {
    const sets = [...this.#sets.values()].map((s) => ({ params: s.params, files: [...s.files.values()] }))
    this.#dirty = false
    this.#lastSaveMs = Date.now()
    try {
      await writeFileAtomic(this.#path, encodeSeedIndex(sets))
    } catch (err) {
      this.#dirty = true
      this.#log.warn('cannot save the seed index', { err })
    }
  }
}
