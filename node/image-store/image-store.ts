/**
 * The node's images on disk, which are also its chunk store: every version held (ready or
 * still being pulled), indexed by its signed chunk list, so a chunk is served by offset
 * from the image its requester's capability names, verified first. Chunk-list parts live
 * in a small content-addressed cache (`<data>/parts/`) so a version can be reopened (and
 * its list diffed against the next) without asking the origin again.
 */
import { createHash } from 'node:crypto'
import { mkdir, readFile, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { ChunkNotFoundError, IMAGE_NAME_RE, createChunkStore, decodeManifest, readChunkList } from '../../protocol/index.ts'
import type { ChunkId, ChunkStore, FetchPart, Logger, Manifest } from '../../protocol/index.ts'
import type { ChunkPlace, ChunkPlaces, HeldChunk } from '../peer/index.ts'
import { createChunkTableBuilder, unitOffset } from '../pull/chunk-table.ts'
import type { ChunkTable } from '../pull/chunk-table.ts'
import { writeFileAtomic } from '../state-file.ts'
import { ImageVersion } from './image-version.ts'
import { MANIFEST_FILE_RE, imagePaths } from './paths.ts'
import { readAll } from './positioned-io.ts'
import type { CorruptChunk, ImageStore as ImageStoreInterface, ImageStoreInit, ImageStoreStats } from './index.ts'

/** A chunk held in a version's image file. */
interface HeldPlace extends ChunkPlace { version: ImageVersion, unit: number, offset: number }

/** `writeFileAtomic`'s temp files beside a version's bitmap or manifest. */
const STALE_TEMP_RE = /^[0-9]+\.(have|manifest)\.[0-9a-f]+\.tmp$/

export class ImageStore implements ImageStoreInterface {
  readonly #dataDir: string
  readonly #log: Logger
  readonly #parts: ChunkStore
  readonly #onCorrupt: ((c: CorruptChunk) => void) | undefined
  readonly #inUse: ((image: string) => Promise<number[]>) | undefined
  /** image → its versions, loaded from disk on first use */
  readonly #images = new Map<string, Promise<Map<number, ImageVersion>>>()

  private constructor (init: ImageStoreInit, parts: ChunkStore) {
    this.#dataDir = init.dataDir
    this.#log = init.logger.forComponent('node:image-store')
    this.#parts = parts
    this.#onCorrupt = init.onCorrupt
    this.#inUse = init.inUse
  }

  static async create (init: ImageStoreInit): Promise<ImageStore> {
    const parts = await createChunkStore({ dir: join(init.dataDir, 'parts'), compress: false, fsyncFiles: false, logger: init.logger.forComponent('node:parts') })
    return new ImageStore(init, parts)
  }

  /** The version's chunk table: list parts from the cache, else from `fetchPart` (then cached). */
  async #table (manifest: Manifest, fetchPart: FetchPart | undefined, signal?: AbortSignal): Promise<ChunkTable> {
    // entry by entry into typed arrays: no object per chunk outlives its list part
    const table = createChunkTableBuilder(manifest.chunkCount)
    for await (const ref of readChunkList(manifest, async (id, o) => {
      if (this.#parts.has(id)) return await this.#parts.get(id, { signal: o.signal })
      if (fetchPart === undefined) throw new ChunkNotFoundError(`chunk-list part ${id} is not cached`)
      const bytes = await fetchPart(id, o)
      await this.#parts.put(bytes, { id })
      return bytes
    }, { signal })) table.add(ref.id, ref.length, ref.offset)
    return table.finish()
  }

  #versionsOf (image: string): Promise<Map<number, ImageVersion>> {
    if (!IMAGE_NAME_RE.test(image)) return Promise.resolve(new Map())
    let loaded = this.#images.get(image)
    if (loaded === undefined) {
      loaded = this.#load(image)
      this.#images.set(image, loaded)
    }
    return loaded
  }

  /** Opens every version of `image` found on disk; one that cannot be opened is skipped (logged). */
  async #load (image: string): Promise<Map<number, ImageVersion>> {
    const out = new Map<number, ImageVersion>()
    let files: string[]
    try { files = await readdir(join(this.#dataDir, 'images', image)) } catch { return out }
    for (const f of files) {
      // a kill while a bitmap or manifest was being replaced leaves its temp file
      if (STALE_TEMP_RE.test(f)) { await rm(join(this.#dataDir, 'images', image, f), { force: true }); continue }
      const m = MANIFEST_FILE_RE.exec(f)
      if (m === null) continue
      const paths = imagePaths(this.#dataDir, image, Number(m[1]))
      try {
        const manifest = decodeManifest(new Uint8Array(await readFile(paths.manifest)))
        if (manifest.image !== image || manifest.version !== Number(m[1])) throw new Error('manifest names another image or version')
        const v = await ImageVersion.open(manifest, await this.#table(manifest, undefined), paths, { create: false, log: this.#log })
        if (v !== undefined) out.set(manifest.version, v)
      } catch (err) {
        this.#log.warn('cannot open a held image version; it will be pulled again', { image, file: f, error: (err as Error).message })
      }
    }
    return out
  }

  async openForPull (manifest: Manifest, root: Uint8Array, options: { fetchPart: FetchPart, signal?: AbortSignal }): Promise<ImageVersion> {
    const versions = await this.#versionsOf(manifest.image)
    const held = versions.get(manifest.version)
    if (held !== undefined) return held
    const paths = imagePaths(this.#dataDir, manifest.image, manifest.version)
    const table = await this.#table(manifest, options.fetchPart, options.signal)
    await mkdir(paths.dir, { recursive: true, mode: 0o700 })
    await writeFileAtomic(paths.manifest, root)
    // a second pull of the same version may have opened it meanwhile
    const again = versions.get(manifest.version)
    if (again !== undefined) return again
    const v = await ImageVersion.open(manifest, table, paths, { create: true, log: this.#log })
    versions.set(manifest.version, v!)
    return v!
  }

  async chunkTable (manifest: Manifest, options: { fetchPart: FetchPart, signal?: AbortSignal }): Promise<ChunkTable> {
    return await this.#table(manifest, options.fetchPart, options.signal)
  }

  async versions (image: string): Promise<ImageVersion[]> {
    return [...(await this.#versionsOf(image)).values()].sort((a, b) => b.version - a.version)
  }

  async read (image: string, id: ChunkId): Promise<HeldChunk | undefined> {
    for (const v of await this.versions(image)) {
      const u = v.table.unitOfId(id)
      if (u === undefined || !v.has(u)) continue
      let data: Uint8Array
      try { data = await v.read(u) } catch { continue } // pruned or closed meanwhile
      return { data, discard: async () => { await this.discard(v, u) } }
    }
    return undefined
  }

  /** Chunks read straight into the chunk server's outgoing buffer (see ChunkSource.places). */
  readonly places: ChunkPlaces = {
    locate: async (image, ids) => {
      const versions = await this.versions(image)
      return ids.map((id): HeldPlace | undefined => {
        for (const v of versions) {
          const u = v.table.unitOfId(id)
          if (u !== undefined && v.has(u)) return { length: v.table.unitLengths[u]!, version: v, unit: u, offset: unitOffset(v.table, u) }
        }
        return undefined
      })
    },
    read: async (places, targets) => await readAll(
      places.map((p, i) => ({ file: (p as HeldPlace).version, offset: (p as HeldPlace).offset, target: targets[i]! })),
      async (run) => { await run.file.readInto(run.offset, run.targets) }
    ),
    discard: async (place) => { await this.discard((place as HeldPlace).version, (place as HeldPlace).unit) }
  }

  async discard (v: ImageVersion, u: number): Promise<void> {
    if (!v.has(u)) return
    await v.discard(u)
    const info: CorruptChunk = { image: v.image, version: v.version, chunkId: v.table.unitId(u), offset: unitOffset(v.table, u) }
    this.#log.warn('a chunk on disk failed verification: not served, to be fetched again', { ...info })
    this.#onCorrupt?.(info)
  }

  /** Checks `bytes` read from `v` against unit `u`'s id; on a mismatch the unit is discarded. */
  async verified (v: ImageVersion, u: number, bytes: Uint8Array): Promise<boolean> {
    if (v.table.idEquals(u, createHash('sha256').update(bytes).digest())) return true
    await this.discard(v, u)
    return false
  }

  async prune (image: string, keep: number): Promise<number[]> {
    if (!Number.isSafeInteger(keep) || keep < 1) throw new TypeError('keep must be a positive integer')
    const versions = await this.#versionsOf(image)
    const doomed = [...versions.values()].sort((a, b) => b.version - a.version).slice(keep)
    return await this.deleteVersions(image, doomed.map((v) => v.version))
  }

  async deleteVersions (image: string, numbers: readonly number[]): Promise<number[]> {
    const versions = await this.#versionsOf(image)
    // a version a VM session runs is its base disk: never pulled from under it
    const inUse = new Set(this.#inUse === undefined ? [] : await this.#inUse(image))
    const doomed = numbers.map((n) => versions.get(n)).filter((v): v is ImageVersion => v !== undefined && !inUse.has(v.version))
    for (const v of doomed) {
      versions.delete(v.version)
      await v.close()
      for (const p of [v.paths.image, v.paths.partial, v.paths.have, v.paths.manifest]) await rm(p, { force: true })
    }
    if (doomed.length > 0) await this.#collectParts()
    if (versions.size === 0) await rm(join(this.#dataDir, 'images', image), { recursive: true, force: true }).catch(() => {})
    return doomed.map((v) => v.version)
  }

  async heldImages (): Promise<string[]> {
    let names: string[] = []
    try { names = await readdir(join(this.#dataDir, 'images')) } catch {}
    const out: string[] = []
    for (const n of names.filter((x) => IMAGE_NAME_RE.test(x)).sort()) if ((await this.#versionsOf(n)).size > 0) out.push(n)
    return out
  }

  /** Deletes cached list parts no held manifest names. */
  async #collectParts (): Promise<void> {
    const named = new Set<ChunkId>()
    let images: string[] = []
    try { images = await readdir(join(this.#dataDir, 'images')) } catch {}
    for (const image of images) {
      let files: string[] = []
      try { files = await readdir(join(this.#dataDir, 'images', image)) } catch {}
      for (const f of files) {
        if (!MANIFEST_FILE_RE.test(f)) continue
        try {
          for (const p of decodeManifest(new Uint8Array(await readFile(join(this.#dataDir, 'images', image, f)))).parts) named.add(p.id)
        } catch {}
      }
    }
    for (const id of [...this.#parts.ids()]) if (!named.has(id)) await this.#parts.delete(id)
  }

  stats (): ImageStoreStats {
    return { partsBytes: this.#parts.usedBytes, parts: this.#parts.count }
  }

  async close (): Promise<void> {
    for (const loaded of this.#images.values()) {
      for (const v of (await loaded).values()) await v.close()
    }
    this.#images.clear()
  }
}
