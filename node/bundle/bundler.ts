/**
 * The two bundle commands over the node's own parts: `make` reads a ready version from
 * the image store (every chunk verified as it is read) and `import` hands the bundle to
 * the node's pull as its manifest root, list parts and a local chunk source.
 */
import { readFile } from 'node:fs/promises'
import { isAbsolute } from 'node:path'
import { MAX_PART_BYTES, createChunkListBuilder, readChunkList, verifyManifest } from '../../protocol/index.ts'
import type { ChunkId, ListPart } from '../../protocol/index.ts'
import type { ImageVersion } from '../image-store/index.ts'
import { fetchChunkFromOrigin } from '../origin/index.ts'
import { verifyRequestedManifest } from '../trust.ts'
import { BundleError } from './errors.ts'
import { openBundle } from './reader.ts'
import { writeBundle } from './writer.ts'
import type { Bundler, BundlerComponents, ImportReport, MakeBundleReport, MakeBundleRequest } from './index.ts'

/** The chunk-list parts of a held version, rebuilt from its table (the cut is content-defined), checked against the manifest. */
function listParts (v: ImageVersion): Uint8Array[] {
  const builder = createChunkListBuilder()
  const parts: ListPart[] = []
  for (let i = 0; i < v.table.count; i++) {
    const p = builder.add({ id: v.table.idAt(i), length: v.table.lengthAt(i) })
    if (p !== undefined) parts.push(p)
  }
  const last = builder.finish()
  if (last !== undefined) parts.push(last)
  const named = v.manifest.parts
  if (parts.length !== named.length || parts.some((p, i) => p.id !== named[i]!.id)) {
    throw new BundleError('ERR_BUNDLE_LIST_MISMATCH', `the chunk list of ${v.image} v${v.version} does not rebuild into the parts its manifest names`)
  }
  return parts.map((p) => p.bytes)
}

export function createBundler (c: BundlerComponents): Bundler {
  /** The ids version `since` has: from its held table, else its signed manifest and parts from the tracker and origin. */
  async function idsOf (image: string, since: number, signal?: AbortSignal): Promise<Set<ChunkId>> {
    const held = (await c.images.versions(image)).find((v) => v.version === since)
    if (held !== undefined) {
      const ids = new Set<ChunkId>()
      for (let u = 0; u < held.table.units; u++) ids.add(held.table.unitId(u))
      return ids
    }
    const root = await c.tracker.manifest(image, since, { signal })
    // only a list of what to leave out: the pinned key and the image matter, not the floor
    const manifest = verifyManifest(root, { publicKey: c.trust.repositoryKey, nowMs: c.now(), image })
    if (manifest.version !== since) throw new BundleError('ERR_BUNDLE_NOT_HELD', `asked the tracker for ${image} v${since}, it answered v${manifest.version}`)
    const access = await c.originAccess(image, { signal })
    const ids = new Set<ChunkId>()
    for await (const ref of readChunkList(manifest, async (id, o) => await fetchChunkFromOrigin(access, id, { signal: o.signal, maxBytes: MAX_PART_BYTES }), { signal })) ids.add(ref.id)
    return ids
  }

  async function make (r: MakeBundleRequest, options: Parameters<Bundler['make']>[1] = {}): Promise<MakeBundleReport> {
    if (!isAbsolute(r.out)) throw new TypeError('the bundle path must be absolute')
    const startedMs = c.now()
    const ready = (await c.images.versions(r.image)).filter((v) => v.ready && v.complete)
    const v = r.version === undefined ? ready[0] : ready.find((x) => x.version === r.version)
    if (v === undefined) {
      throw new BundleError('ERR_BUNDLE_NOT_HELD', `${r.image}${r.version === undefined ? '' : ` v${r.version}`} is not ready on this node; pull it first`)
    }
    if (r.since !== undefined && r.since >= v.version) throw new TypeError(`--since ${r.since} is not older than v${v.version}`)
    const root = new Uint8Array(await readFile(v.paths.manifest))
    const parts = listParts(v)
    const skip = r.since === undefined ? new Set<ChunkId>() : await idsOf(r.image, r.since, options.signal)
    const chunks: Array<{ id: ChunkId, length: number, unit: number }> = []
    for (let u = 0; u < v.table.units; u++) {
      const id = v.table.unitId(u)
      if (!skip.has(id)) chunks.push({ id, length: v.table.unitLengths[u]!, unit: u })
    }
    const totalBytes = chunks.reduce((s, x) => s + x.length, 0)
    const units = new Map(chunks.map((x) => [x.id, x.unit]))
    let doneBytes = 0
    const written = await writeBundle(r.out, {
      root,
      parts,
      chunks,
      read: async (id) => {
        const u = units.get(id)!
        const bytes = await v.read(u)
        if (!await c.images.verified(v, u, bytes)) throw new BundleError('ERR_BUNDLE_NOT_HELD', `chunk ${id} of ${v.image} v${v.version} is damaged on disk; pull the version again`)
        return bytes
      }
    }, { force: r.force, signal: options.signal, onChunk: (n) => { doneBytes += n; options.onProgress?.({ phase: 'write', doneBytes, totalBytes }) } })
    return { image: v.image, version: v.version, since: r.since ?? null, path: r.out, chunks: chunks.length, chunkBytes: written.chunkBytes, fileBytes: written.fileBytes, durationMs: c.now() - startedMs }
  }

  async function importBundle (path: string, options: Parameters<Bundler['import']>[1] = {}): Promise<ImportReport> {
    if (!isAbsolute(path)) throw new TypeError('the bundle path must be absolute')
    const bundle = await openBundle(path)
    try {
      const { image, version } = bundle.manifest
      // the pull checks it again; here first, so a forged or stale bundle is named as such
      try {
        verifyRequestedManifest(c.trust, bundle.root, { image, version, nowMs: c.now() })
      } catch (err) {
        const e = new Error(`the bundle's manifest is refused: ${(err as Error).message}`, { cause: err }) as Error & { code?: unknown }
        e.code = (err as { code?: unknown }).code
        throw e
      }
      const pull = await c.pull({
        image,
        version,
        manifestRoot: bundle.root,
        listParts: async (id) => await bundle.listPart(id),
        localSources: [bundle.source],
        signal: options.signal,
        onProgress: options.onProgress
      })
      return { pull, bundle: { path, chunks: bundle.source.chunks, refused: bundle.source.refused.size, bytesUsed: pull.bytesFromLocalSources.bundle ?? 0 } }
    } finally {
      await bundle.close()
    }
  }

  return { make, import: importBundle }
}
