/**
 * Reading a bundle: the header, root, part table and index are read with caps and every
 * offset checked against the file's size before anything is used, so a malformed or
 * truncated bundle is refused whole. Chunks are then read one at a time as a
 * `LocalChunkSource`: each is decoded (capped) and hashed against its id; a chunk that
 * does not match is refused alone, counted, and left to the network.
 */
import { open } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { chunkId, decodeManifest, decodeStoredChunk } from '../../protocol/index.ts'
import type { ChunkId, Manifest } from '../../protocol/index.ts'
import type { LocalChunkSource } from '../pull/index.ts'
import { HEADER_BYTES, INDEX_ENTRY_BYTES, INDEX_READ_ENTRIES, MAX_BUNDLE_PART_BYTES } from './constants.ts'
import { BundleError } from './errors.ts'
import { decodeHeader, decodeIndexEntry } from './format.ts'
import type { IndexEntry } from './format.ts'

/** A bundle's chunks as a pull's local source, counting what it refused. */
export interface BundleSource extends LocalChunkSource {
  /** chunks the bundle holds */
  readonly chunks: number
  /** ids of chunks that did not decode to their id */
  readonly refused: ReadonlySet<ChunkId>
}

export interface OpenBundle {
  /** the signed manifest root (not verified here: the pull verifies it against the pinned key) */
  root: Uint8Array
  /** the root decoded, to name the image and version; trust nothing in it before the pull verified it */
  manifest: Manifest
  source: BundleSource
  /** a chunk-list part by id, if the bundle holds one that hashes to it */
  listPart: (id: ChunkId) => Promise<Uint8Array | undefined>
  close: () => Promise<void>
}

async function readAt (fh: FileHandle, offset: number, length: number): Promise<Uint8Array> {
  const buf = Buffer.allocUnsafe(length)
  let got = 0
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, offset + got)
    if (bytesRead === 0) throw new BundleError('ERR_BUNDLE_TRUNCATED', `bundle ended at byte ${offset + got}, expected ${offset + length}`)
    got += bytesRead
  }
  return buf
}

/** Opens `path` and checks its structure; refuses a malformed or truncated bundle before any chunk is used. */
export async function openBundle (path: string): Promise<OpenBundle> {
  const fh = await open(path, 'r')
  try {
    const fileBytes = (await fh.stat()).size
    const need = (end: number, what: string): void => {
      if (end > fileBytes) throw new BundleError('ERR_BUNDLE_TRUNCATED', `bundle is truncated: its ${what} ends at byte ${end}, the file has ${fileBytes}`)
    }
    need(HEADER_BYTES, 'header')
    const header = decodeHeader(await readAt(fh, 0, HEADER_BYTES))
    let pos = HEADER_BYTES
    need(pos + header.rootBytes, 'manifest')
    const root = await readAt(fh, pos, header.rootBytes)
    pos += header.rootBytes
    let manifest: Manifest
    try { manifest = decodeManifest(root) } catch (err) {
      throw new BundleError('ERR_BUNDLE_MALFORMED', `not a valid bundle: its manifest does not parse (${(err as Error).message})`, { cause: err })
    }
    if (header.partCount > manifest.parts.length) throw new BundleError('ERR_BUNDLE_MALFORMED', `not a valid bundle: ${header.partCount} list parts for a manifest of ${manifest.parts.length}`)
    if (header.chunkCount > manifest.chunkCount) throw new BundleError('ERR_BUNDLE_MALFORMED', `not a valid bundle: ${header.chunkCount} chunks for a manifest of ${manifest.chunkCount}`)

    // parts: a length table, then the bytes
    need(pos + 4 * header.partCount, 'list part table')
    const lengths = Buffer.from(await readAt(fh, pos, 4 * header.partCount))
    pos += 4 * header.partCount
    const parts: Array<{ offset: number, length: number }> = []
    for (let i = 0; i < header.partCount; i++) {
      const length = lengths.readUInt32BE(4 * i)
      if (length < 1 || length > MAX_BUNDLE_PART_BYTES) throw new BundleError('ERR_BUNDLE_MALFORMED', `not a valid bundle: list part ${i} of ${length} bytes`)
      parts.push({ offset: pos, length })
      pos += length
    }
    need(pos, 'list parts')

    // the index, in slices
    const indexBytes = INDEX_ENTRY_BYTES * header.chunkCount
    need(pos + indexBytes, 'index')
    const bounds = { dataStart: pos + indexBytes, fileBytes, maxStoredBytes: manifest.chunking.maxBytes }
    const index = new Map<ChunkId, IndexEntry>()
    for (let i = 0; i < header.chunkCount; i += INDEX_READ_ENTRIES) {
      const n = Math.min(INDEX_READ_ENTRIES, header.chunkCount - i)
      const slice = await readAt(fh, pos + i * INDEX_ENTRY_BYTES, n * INDEX_ENTRY_BYTES)
      for (let k = 0; k < n; k++) {
        const e = decodeIndexEntry(slice, k * INDEX_ENTRY_BYTES, bounds)
        if (index.has(e.id)) throw new BundleError('ERR_BUNDLE_MALFORMED', `not a valid bundle: chunk ${e.id} is indexed twice`)
        index.set(e.id, e)
      }
    }

    const byId = new Map<ChunkId, { offset: number, length: number }>()
    const refused = new Set<ChunkId>()
    const source: BundleSource = {
      kind: 'bundle',
      name: path,
      chunks: index.size,
      refused,
      has: (id) => index.has(id),
      async read (id, length) {
        const e = index.get(id)
        if (e === undefined) return undefined
        const stored = await readAt(fh, e.offset, e.storedBytes)
        try {
          const bytes = decodeStoredChunk(id, stored, { maxBytes: length })
          if (bytes.length === length) return bytes
        } catch {}
        refused.add(id)
        return undefined
      }
    }
    // parts are found by hashing the few the bundle holds once, on first use
    let partsHashed: Promise<void> | undefined
    const listPart = async (id: ChunkId): Promise<Uint8Array | undefined> => {
      // one hashing pass, shared: the chunk list asks for its parts concurrently
      partsHashed ??= (async () => { for (const p of parts) byId.set(chunkId(await readAt(fh, p.offset, p.length)), p) })()
      await partsHashed
      const p = byId.get(id)
      return p === undefined ? undefined : await readAt(fh, p.offset, p.length)
    }
    return { root, manifest, source, listPart, close: async () => { await fh.close() } }
  } catch (err) {
    await fh.close()
    throw err
  }
}
