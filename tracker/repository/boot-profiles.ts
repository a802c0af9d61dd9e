/**
 * Boot profiles of versions (instant start): an admin hands in the chunk ids a recorded
 * boot read, in order; the tracker checks each against the version's own chunk list,
 * signs the profile with the repository key under the profile context
 * (`protocol/boot-profile/`) and writes it next to the chunks as
 * `boot-profiles/<2 hex>/<manifest digest>`, where the built-in origin and nginx serve it.
 * No database row: the file is named by the manifest it belongs to, like the delta index.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { bootProfilePath, decodeManifest, encodeBootProfile, normaliseProfileChunks, readChunkList } from '../../protocol/index.ts'
import type { BootProfileResult, ChunkId } from '../../protocol/index.ts'
import type { TrackerComponents } from '../env.ts'
import { badRequest, conflict, notFound } from '../errors.ts'
import type { ImageRepository } from './index.ts'
import { writeStoreFile } from './delta-publish.ts'

export type BootProfileComponents = Pick<TrackerComponents, 'chunks' | 'keys' | 'now'> & { repository: Pick<ImageRepository, 'getManifest'> }

export interface PublishBootProfileInput {
  image: string
  version: number
  /** chunk ids in first-read order; repeats dropped */
  chunks: readonly string[]
  signal?: AbortSignal
}

/** The chunk ids of a finalized version with their lengths (list parts read from the store). */
async function chunkLengths (c: BootProfileComponents, root: Uint8Array, signal?: AbortSignal): Promise<Map<ChunkId, number>> {
  const lengths = new Map<ChunkId, number>()
  for await (const ref of readChunkList(decodeManifest(root), async (id) => await c.chunks.get(id, { signal }), { signal })) lengths.set(ref.id, ref.length)
  return lengths
}

/**
 * Signs and stores the profile of `image`@`version`, replacing an earlier one. ERR_NOT_FOUND
 * (no such version, or still uploading), ERR_CONFLICT (a retired version: nobody starts it
 * anew), ERR_BAD_REQUEST (an id the version does not have).
 */
export async function publishBootProfile (c: BootProfileComponents, input: PublishBootProfileInput): Promise<BootProfileResult> {
  let chunks: ChunkId[]
  try { chunks = normaliseProfileChunks(input.chunks) } catch (err) { throw badRequest((err as Error).message) }
  if (chunks.length === 0) throw badRequest('a boot profile names at least one chunk')
  const { version, bytes: root } = await c.repository.getManifest(input.image, input.version)
  if (version.state === 'retired') throw conflict(`version ${version.number} is retired`)
  const digest = version.manifestId!
  const lengths = await chunkLengths(c, root, input.signal)
  let bytes = 0
  for (const id of chunks) {
    const n = lengths.get(id)
    if (n === undefined) throw badRequest(`chunk ${id} is not part of ${input.image} version ${version.number}`)
    bytes += n
  }
  const signed = encodeBootProfile({ format: 1, image: input.image, version: version.number, manifestDigest: digest, chunks, signedAtMs: c.now() }, c.keys.repository.privateKey)
  const path = bootProfilePath(digest)
  await writeStoreFile(c.chunks.dir, path, signed)
  return { image: input.image, version: version.number, manifestDigest: digest, chunks: chunks.length, bytes, path }
}

/** The stored (signed) profile of a version; ERR_NOT_FOUND when it has none. */
export async function readBootProfile (c: BootProfileComponents, image: string, version: number | 'latest'): Promise<Uint8Array> {
  const { version: v } = await c.repository.getManifest(image, version)
  try {
    return await readFile(join(c.chunks.dir, bootProfilePath(v.manifestId!)))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`${image} version ${v.number} has no boot profile`)
    throw err
  }
}
