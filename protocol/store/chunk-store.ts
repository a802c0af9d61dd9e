/**
 * The content-addressed chunk store on disk, shared by the tracker's image repository (it
 * is also the HTTP origin's document root) and the node's cache.
 *
 * Layout under `dir`, servable as is by any static HTTP server:
 *
 *     chunks/<2 hex>/<64 hex>   one chunk per file, raw or one zstd frame (see chunk-codec.ts)
 *     tmp/<pid>-<random>.tmp    writes in progress (same file system, so rename is atomic)
 *     quarantine/<id>.<random>  files that failed verification, kept for inspection
 *
 * Writes: temp file → write → fsync → rename over `chunks/…`. A reader, in this process or
 * any other, sees either no file or a complete one. Two writers of the same chunk (two
 * stores on one directory, other processes, worker threads) both succeed: the contents
 * are identical, so whichever rename lands last wins harmlessly. The parent directory is
 * fsynced after the rename only with `fsyncDirs: true` (the repository, where a chunk a
 * signed manifest names must survive a power cut); a cache can afford to re-fetch a chunk
 * whose rename a crash lost, and never sees a half-written file either way.
 *
 * Accounting (`usedBytes`, `count`, LRU order) is in memory, per store instance, counting
 * the stored file sizes. It is rebuilt on open from the files and their mtimes. Reads
 * touch a chunk in memory; the mtime is written back at most once per
 * `MTIME_PERSIST_INTERVAL_MS` per chunk, so steady reads cost no extra syscall and the
 * LRU order survives a restart to within that interval.
 */
import { randomBytes } from 'node:crypto'
import * as nodeFs from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { chunkId, chunkPath, isChunkId } from './chunk-id.ts'
import type { ChunkId } from './chunk-id.ts'
import { decodeStoredChunk, encodeStoredChunk } from './chunk-codec.ts'
import { MAX_CHUNK_BYTES_CEILING } from '../chunking/chunking-params.ts'
import { ChunkCorruptError, ChunkNotFoundError, ChunkTooLargeError, DiskFullError, StoreWriteError, isBranchcastError } from '../errors.ts'
import { createLogger } from '../logger.ts'
import type { Logger } from '../logger.ts'

const execFileAsync = promisify(execFile)

/** A read refreshes the file's mtime (the LRU order after a restart) at most this often. */
export const MTIME_PERSIST_INTERVAL_MS = 60_000

/**
 * A temp file older than this is a crash leftover even if its writer's pid is alive again
 * (pid reuse, or another host on a shared file system): no single chunk write takes an hour.
 */
export const STALE_TEMP_MS = 60 * 60_000

/** The file operations the store uses; tests inject failures (e.g. ENOSPC) through it. */
export type ChunkStoreFs = Pick<typeof nodeFs, 'open' | 'rename' | 'unlink' | 'mkdir' | 'readdir' | 'stat' | 'utimes'>

export interface ChunkStoreInit {
  /** root directory; created if missing */
  dir: string
  /** size limit over the stored files, in bytes; least recently used chunks are evicted past it */
  maxBytes?: number
  /** store a zstd frame when strictly smaller (default true) */
  compress?: boolean
  /** largest chunk accepted by put and get (default and ceiling `MAX_CHUNK_BYTES_CEILING`) */
  maxChunkBytes?: number
  /** fsync the fan-out directory after each rename (default false, see the module comment) */
  fsyncDirs?: boolean
  /**
   * fsync each chunk file before its rename (default true). A cache may turn it off (false):
   * a chunk torn by a crash fails its hash on read, is quarantined and fetched again.
   * 'deferred': no fsync per chunk; `flush()` makes everything written so far durable at
   * once (the repository calls it before it signs a version that names the chunks).
   */
  fsyncFiles?: boolean | 'deferred'
  logger?: Logger
  /** file operations, for tests that inject failures; default node:fs/promises */
  fs?: ChunkStoreFs
}

export interface PutResult {
  id: ChunkId
  /** false when the chunk was already present (this call wrote nothing) */
  stored: boolean
  /** size of the stored file */
  diskBytes: number
}

export interface ChunkStore {
  /** absolute root directory */
  readonly dir: string
  /** in-memory: true for a chunk this store accounts for */
  has: (id: ChunkId) => boolean
  /**
   * The verified chunk. A file that fails verification is moved to `quarantine/` and
   * `ChunkCorruptError` (`peerFault: false`) is thrown; a missing one throws
   * `ChunkNotFoundError`. A chunk another process wrote into the directory is found too.
   */
  get: (id: ChunkId, options?: { signal?: AbortSignal }) => Promise<Uint8Array>
  /**
   * Stores a chunk atomically. With `id`, the bytes are checked first and
   * `ChunkCorruptError` is thrown with nothing written. `DiskFullError` on ENOSPC/EDQUOT,
   * `StoreWriteError` on other I/O failures: in both cases the temp file is removed and
   * nothing is left under `chunks/`. May evict other chunks afterwards to honour `maxBytes`.
   */
  put: (bytes: Uint8Array, options?: { id?: ChunkId, signal?: AbortSignal }) => Promise<PutResult>
  /** Removes a chunk; true if there was one. Protected chunks are deleted too (it is explicit). */
  delete: (id: ChunkId) => Promise<boolean>
  /** Shields chunks from eviction until `release()` (reference-counted; release is idempotent). */
  protect: (ids: Iterable<ChunkId>) => { release: () => void }
  /** sum of the stored file sizes */
  readonly usedBytes: number
  readonly count: number
  /** a snapshot of the chunks accounted for, least recently used first */
  ids: () => IterableIterator<ChunkId>
  /** absolute path of a chunk's stored file, for serving it; TypeError for a malformed id */
  pathOf: (id: ChunkId) => string
  /**
   * Deletes least recently used unprotected chunks until `usedBytes <= targetBytes`
   * (default `maxBytes`; no-op without one). Resolves to the bytes freed.
   */
  evict: (targetBytes?: number) => Promise<number>
  /** With `fsyncFiles: 'deferred'`: make every chunk written so far durable. A no-op otherwise. */
  flush: () => Promise<void>
}

interface Entry {
  diskBytes: number
  /** mtime last written to disk, to rate-limit persisting touches */
  mtimeMs: number
}

const TEMP_NAME_RE = /^(\d+)-[0-9a-f]+\.tmp$/
const FANOUT_RE = /^[0-9a-f]{2}$/

function errnoCode (err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

function isDiskFull (err: unknown): boolean {
  const code = errnoCode(err)
  return code === 'ENOSPC' || code === 'EDQUOT'
}

function pidAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return errnoCode(err) === 'EPERM'
  }
}

function checkId (id: unknown): asserts id is ChunkId {
  if (!isChunkId(id)) throw new TypeError('not a chunk id')
}

/**
 * Opens (creating if needed) a chunk store: makes the directories, removes temp files a
 * crashed writer left behind, and rebuilds size accounting and LRU order (by mtime) from
 * the files present.
 */
export async function createChunkStore (init: ChunkStoreInit): Promise<ChunkStore> {
  if (typeof init?.dir !== 'string' || init.dir === '') throw new TypeError('dir must be a non-empty path')
  const maxBytes = init.maxBytes
  if (maxBytes !== undefined && (!Number.isSafeInteger(maxBytes) || maxBytes < 0)) throw new TypeError('maxBytes must be a non-negative integer')
  const maxChunkBytes = init.maxChunkBytes ?? MAX_CHUNK_BYTES_CEILING
  if (!Number.isSafeInteger(maxChunkBytes) || maxChunkBytes < 1 || maxChunkBytes > MAX_CHUNK_BYTES_CEILING) {
    throw new TypeError(`maxChunkBytes must be an integer in 1..${MAX_CHUNK_BYTES_CEILING}`)
  }
  const compress = init.compress ?? true
  const fsyncDirs = init.fsyncDirs ?? false
  const fsyncFiles = init.fsyncFiles ?? true
  /** files renamed into place but not yet fsynced ('deferred' mode) */
  const unsynced = new Set<string>()
  const fs: ChunkStoreFs = init.fs ?? nodeFs
  const log = init.logger?.forComponent('protocol:chunk-store') ?? createLogger({}, 'protocol:chunk-store')

  const root = resolve(init.dir)
  const chunksDir = join(root, 'chunks')
  const tmpDir = join(root, 'tmp')
  const quarantineDir = join(root, 'quarantine')

  await fs.mkdir(chunksDir, { recursive: true })
  await fs.mkdir(tmpDir, { recursive: true })
  await fs.mkdir(quarantineDir, { recursive: true })

  await removeLeftoverTemps()

  /** insertion order is LRU order: oldest first */
  const entries = new Map<ChunkId, Entry>()
  let usedBytes = 0
  const protectedIds = new Map<ChunkId, number>()
  const pendingPuts = new Map<ChunkId, Promise<PutResult>>()

  await scan()
  log.debug('opened', { dir: root, count: entries.size, usedBytes })

  async function removeLeftoverTemps (): Promise<void> {
    const now = Date.now()
    for (const name of await fs.readdir(tmpDir)) {
      const m = TEMP_NAME_RE.exec(name)
      const path = join(tmpDir, name)
      if (m !== null) {
        const pid = Number(m[1])
        // Another live writer (this process's other stores and workers share our pid).
        let fresh = false
        try { fresh = now - (await fs.stat(path)).mtimeMs < STALE_TEMP_MS } catch { continue }
        if (fresh && (pid === process.pid || pidAlive(pid))) continue
      }
      try {
        await fs.unlink(path)
        log.info('removed leftover temp file', { path })
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') log.warn('cannot remove leftover temp file', { path, err })
      }
    }
  }

  async function scan (): Promise<void> {
    const found: Array<{ id: ChunkId, size: number, mtimeMs: number }> = []
    for (const prefix of await fs.readdir(chunksDir)) {
      if (!FANOUT_RE.test(prefix)) continue
      const names = (await fs.readdir(join(chunksDir, prefix))).filter(n => isChunkId(n) && n.startsWith(prefix))
      const stats = await Promise.all(names.map(async id => {
        try {
          const st = await fs.stat(join(chunksDir, prefix, id))
          return st.isFile() ? { id, size: st.size, mtimeMs: st.mtimeMs } : undefined
        } catch { return undefined }
      }))
      for (const s of stats) if (s !== undefined) found.push(s)
    }
    found.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.id < b.id ? -1 : 1))
    for (const f of found) {
      entries.set(f.id, { diskBytes: f.size, mtimeMs: f.mtimeMs })
      usedBytes += f.size
    }
  }

  function account (id: ChunkId, entry: Entry): void {
    const old = entries.get(id)
    if (old !== undefined) {
      usedBytes -= old.diskBytes
      entries.delete(id)
    }
    entries.set(id, entry)
    usedBytes += entry.diskBytes
  }

  function forget (id: ChunkId): Entry | undefined {
    const entry = entries.get(id)
    if (entry === undefined) return undefined
    entries.delete(id)
    usedBytes -= entry.diskBytes
    return entry
  }

  /** Moves a chunk to most recently used; writes the mtime back if it is stale. */
  async function touch (id: ChunkId, entry: Entry): Promise<void> {
    entries.delete(id)
    entries.set(id, entry)
    const now = Date.now()
    if (now - entry.mtimeMs < MTIME_PERSIST_INTERVAL_MS) return
    entry.mtimeMs = now
    try {
      await fs.utimes(pathOf(id), now / 1000, now / 1000)
    } catch (err) {
      // the LRU hint is best effort: a file deleted meanwhile is not an error of the read
      if (errnoCode(err) !== 'ENOENT') log.debug('cannot refresh mtime', { id, err })
    }
  }

  function pathOf (id: ChunkId): string {
    return join(root, chunkPath(id))
  }

  async function quarantine (id: ChunkId, path: string): Promise<void> {
    const dest = join(quarantineDir, `${id}.${randomBytes(6).toString('hex')}`)
    try {
      await fs.rename(path, dest)
      log.warn('quarantined corrupt chunk file', { id, path: dest })
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return // another reader quarantined it first
      log.error('cannot quarantine corrupt chunk file, deleting it', { id, err })
      await fs.unlink(path).catch(() => {})
    }
  }

  async function get (id: ChunkId, options: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    checkId(id)
    const { signal } = options
    signal?.throwIfAborted()
    const path = pathOf(id)
    // Two attempts: a concurrent writer may replace a corrupt file between our read and
    // the quarantine, and the replacement must not be quarantined with it.
    for (let attempt = 0; ; attempt++) {
      let stored: Uint8Array | undefined
      let ino: number
      let handle: nodeFs.FileHandle
      try {
        handle = await fs.open(path, 'r')
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') {
          forget(id)
          throw new ChunkNotFoundError(`chunk ${id} not found`)
        }
        throw err
      }
      try {
        const st = await handle.stat()
        ino = st.ino
        // A valid stored file is never larger than its chunk (zstd only when smaller):
        // a bigger one is corrupt without reading it.
        if (st.size <= maxChunkBytes) stored = await handle.readFile({ signal })
      } finally {
        await handle.close()
      }
      try {
        if (stored === undefined) throw new ChunkCorruptError(`stored chunk ${id} is larger than ${maxChunkBytes} bytes`, { peerFault: false })
        const chunk = decodeStoredChunk(id, stored, { maxBytes: maxChunkBytes, errorOptions: { peerFault: false } })
        const entry = entries.get(id)
        if (entry === undefined) {
          // written by another process sharing the directory: adopt it
          account(id, { diskBytes: stored.byteLength, mtimeMs: Date.now() })
        } else {
          await touch(id, entry)
        }
        return chunk
      } catch (err) {
        if (!isBranchcastError(err, 'ERR_CHUNK_CORRUPT')) throw err
        const now = await fs.stat(path).catch(() => undefined)
        if (now !== undefined && now.ino !== ino && attempt === 0) continue
        forget(id)
        if (now?.ino === ino) await quarantine(id, path)
        throw err
      }
    }
  }

  async function put (bytes: Uint8Array, options: { id?: ChunkId, signal?: AbortSignal } = {}): Promise<PutResult> {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('chunk bytes must be a Uint8Array')
    if (options.id !== undefined) checkId(options.id)
    const { signal } = options
    signal?.throwIfAborted()
    if (bytes.byteLength > maxChunkBytes) throw new ChunkTooLargeError(`chunk of ${bytes.byteLength} bytes exceeds ${maxChunkBytes}`)
    const id = chunkId(bytes)
    if (options.id !== undefined && options.id !== id) throw new ChunkCorruptError(`chunk bytes hash to ${id}, not ${options.id}`)

    const entry = entries.get(id)
    if (entry !== undefined) {
      await touch(id, entry)
      return { id, stored: false, diskBytes: entry.diskBytes }
    }
    const pending = pendingPuts.get(id)
    if (pending !== undefined) {
      const r = await pending
      return { ...r, stored: false }
    }
    const write = writeChunk(id, bytes, signal)
    pendingPuts.set(id, write)
    try {
      const result = await write
      if (result.stored && maxBytes !== undefined && usedBytes > maxBytes) await evictTo(maxBytes, id)
      return result
    } finally {
      pendingPuts.delete(id)
    }
  }

  async function writeChunk (id: ChunkId, bytes: Uint8Array, signal: AbortSignal | undefined): Promise<PutResult> {
    const finalPath = pathOf(id)
    const existing = await fs.stat(finalPath).catch(() => undefined)
    if (existing?.isFile() === true) {
      // another process wrote it; get() verifies it like any other
      account(id, { diskBytes: existing.size, mtimeMs: existing.mtimeMs })
      return { id, stored: false, diskBytes: existing.size }
    }

    const stored = encodeStoredChunk(bytes, { compress })
    const tmpPath = join(tmpDir, `${process.pid}-${randomBytes(8).toString('hex')}.tmp`)
    let created = false
    try {
      const handle = await fs.open(tmpPath, 'wx')
      created = true
      try {
        await handle.writeFile(stored, { signal })
        if (fsyncFiles === true) await handle.sync()
      } finally {
        await handle.close()
      }
      signal?.throwIfAborted()
      try {
        await fs.rename(tmpPath, finalPath)
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw err
        // fan-out directories are made on first use (recursive mkdir tolerates a racing writer)
        await fs.mkdir(join(chunksDir, id.slice(0, 2)), { recursive: true })
        await fs.rename(tmpPath, finalPath)
      }
      created = false
      if (fsyncFiles === 'deferred') unsynced.add(finalPath)
      if (fsyncDirs) await syncDir(join(chunksDir, id.slice(0, 2)))
    } catch (err) {
      if (created) await fs.unlink(tmpPath).catch(() => {})
      if (signal?.aborted === true && (err === signal.reason || (err as Error)?.name === 'AbortError')) throw signal.reason
      if (isDiskFull(err)) throw new DiskFullError(`no space left to store chunk ${id} (${stored.byteLength} bytes)`, { cause: err })
      throw new StoreWriteError(`cannot store chunk ${id}: ${(err as Error)?.message}`, { cause: err })
    }
    account(id, { diskBytes: stored.byteLength, mtimeMs: Date.now() })
    return { id, stored: true, diskBytes: stored.byteLength }
  }

  /**
   * One syncfs(2) of the store's filesystem (coreutils `sync -f`) instead of an fsync per
   * chunk; where that is unavailable, an fsync of each pending file and its directory.
   */
  async function flush (): Promise<void> {
    if (unsynced.size === 0) return
    const paths = [...unsynced]
    unsynced.clear()
    try {
      await execFileAsync('sync', ['-f', root])
      return
    } catch {}
    try {
      for (const p of paths) {
        const handle = await fs.open(p, 'r').catch((err) => { if (errnoCode(err) === 'ENOENT') return undefined; throw err })
        if (handle !== undefined) { try { await handle.sync() } finally { await handle.close() } }
      }
      for (const dir of new Set(paths.map((p) => dirname(p)))) await syncDir(dir)
    } catch (err) {
      for (const p of paths) unsynced.add(p)
      if (isDiskFull(err)) throw new DiskFullError('no space left while flushing the chunk store', { cause: err })
      throw new StoreWriteError(`cannot flush the chunk store: ${(err as Error)?.message}`, { cause: err })
    }
  }

  async function syncDir (path: string): Promise<void> {
    const handle = await fs.open(path, 'r')
    try { await handle.sync() } finally { await handle.close() }
  }

  async function del (id: ChunkId): Promise<boolean> {
    checkId(id)
    const pending = pendingPuts.get(id)
    if (pending !== undefined) await pending.catch(() => {})
    const had = forget(id) !== undefined
    try {
      await fs.unlink(pathOf(id))
      return true
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return had
      throw new StoreWriteError(`cannot delete chunk ${id}`, { cause: err })
    }
  }

  function protect (ids: Iterable<ChunkId>): { release: () => void } {
    const list = [...ids]
    for (const id of list) checkId(id)
    for (const id of list) protectedIds.set(id, (protectedIds.get(id) ?? 0) + 1)
    let released = false
    return {
      release: () => {
        if (released) return
        released = true
        for (const id of list) {
          const n = (protectedIds.get(id) ?? 1) - 1
          if (n <= 0) protectedIds.delete(id)
          else protectedIds.set(id, n)
        }
      }
    }
  }

  async function evictTo (targetBytes: number, keep?: ChunkId): Promise<number> {
    let freed = 0
    for (const [id, entry] of entries) {
      if (usedBytes <= targetBytes) break
      if (id === keep || protectedIds.has(id)) continue
      forget(id)
      freed += entry.diskBytes
      try {
        await fs.unlink(pathOf(id))
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') log.warn('cannot delete evicted chunk file', { id, err })
      }
    }
    if (usedBytes > targetBytes) log.warn('cannot evict below target: the rest is protected', { usedBytes, targetBytes })
    return freed
  }

  async function evict (targetBytes?: number): Promise<number> {
    const target = targetBytes ?? maxBytes
    if (target === undefined) return 0
    if (!Number.isSafeInteger(target) || target < 0) throw new TypeError('targetBytes must be a non-negative integer')
    return evictTo(target)
  }

  return {
    dir: root,
    has: (id) => isChunkId(id) && entries.has(id),
    get,
    put,
    delete: del,
    protect,
    get usedBytes () { return usedBytes },
    get count () { return entries.size },
    // a snapshot: reads reorder the live map, so iterating it while reading would never end
    ids: () => [...entries.keys()][Symbol.iterator](),
    pathOf: (id) => pathOf(id),
    evict,
    flush
  }
}
