/**
 * Boot profiles of versions (instant start). Two ways in, one signer:
 *
 * - **An admin** hands in the chunk ids a recorded boot read, in order
 *   (`publishBootProfile`). That profile always wins: agreeing nodes never overwrite it.
 * - **Nodes** that booted the version lazily hand in what their guest read until it was up
 *   (`submitBootProfileCandidate`; a user the image is assigned to, from a node registered to
 *   that user, one recording per user and version, each id checked against the version's
 *   chunk list). Once
 *   `BOOT_PROFILE_QUORUM` distinct users' recordings are held, the tracker merges them
 *   (`boot-profile-merge.ts`: majority chunks, median order) and publishes the result itself.
 *
 * Either way the tracker checks every id is a chunk of that version and signs the profile
 * with the repository key — the key that signs manifests, which only the tracker holds (a
 * node never signs anything another node trusts) — under the profile context
 * (`protocol/boot-profile/`). The signed document is kept in the database (who decided it,
 * and the bytes) and written next to the chunks as `boot-profiles/<2 hex>/<manifest
 * digest>`, where the built-in origin and nginx serve it. The file is rewritten from the
 * database row after every write until they agree, so two tracker processes writing at
 * once still leave the file the row says.
 */
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { bootProfilePath, decodeManifest, encodeBootProfile, normaliseProfileChunks, readChunkList } from '../../protocol/index.ts'
import type { BootProfileCandidateList, BootProfileResult, BootProfileSource, BootProfileState, BootProfileSubmitResult, ChunkId } from '../../protocol/index.ts'
import type { VersionRecord } from '../db/store.ts'
import type { TrackerComponents } from '../env.ts'
import { badRequest, conflict, forbidden, notFound } from '../errors.ts'
import type { ImageRepository } from './index.ts'
import { mergeBootRecordings } from './boot-profile-merge.ts'
import { BOOT_PROFILE_QUORUM, MAX_BOOT_PROFILE_CANDIDATES } from './constants.ts'
import { writeStoreFile } from './delta-publish.ts'

export type BootProfileComponents = Pick<TrackerComponents, 'chunks' | 'keys' | 'now' | 'store'> & { repository: Pick<ImageRepository, 'getManifest'> }

export interface PublishBootProfileInput {
  image: string
  version: number
  /** chunk ids in first-read order; repeats dropped */
  chunks: readonly string[]
  /** the admin publishing it */
  by: string
  signal?: AbortSignal
}

export interface SubmitBootProfileInput {
  image: string
  version: number
  /** the caller (assigned the image: the route checked) */
  user: string
  clientId: string
  chunks: readonly string[]
  end: string
  durationMs: number
  signal?: AbortSignal
}

/** The chunk ids of a finalized version with their lengths (list parts read from the store). */
async function chunkLengths (c: BootProfileComponents, root: Uint8Array, signal?: AbortSignal): Promise<Map<ChunkId, number>> {
  const lengths = new Map<ChunkId, number>()
  for await (const ref of readChunkList(decodeManifest(root), async (id) => await c.chunks.get(id, { signal }), { signal })) lengths.set(ref.id, ref.length)
  return lengths
}

/** The ids, distinct and in order, each a chunk of the version (ERR_BAD_REQUEST otherwise), and the bytes they hold. */
async function checkedChunks (c: BootProfileComponents, v: { image: string, version: VersionRecord, root: Uint8Array }, ids: readonly string[], signal?: AbortSignal): Promise<{ chunks: ChunkId[], bytes: number }> {
  let chunks: ChunkId[]
  try { chunks = normaliseProfileChunks(ids) } catch (err) { throw badRequest((err as Error).message) }
  if (chunks.length === 0) throw badRequest('a boot profile names at least one chunk')
  const lengths = await chunkLengths(c, v.root, signal)
  let bytes = 0
  for (const id of chunks) {
    const n = lengths.get(id)
    if (n === undefined) throw badRequest(`chunk ${id} is not part of ${v.image} version ${v.version.number}`)
    bytes += n
  }
  return { chunks, bytes }
}

/** Writes the version's profile file from its database row, again until the row read after the write is the one written. */
async function syncProfileFile (c: BootProfileComponents, version: VersionRecord): Promise<void> {
  const path = bootProfilePath(version.manifestId!)
  for (let i = 0; i < 4; i++) {
    const row = await c.store.getBootProfile(version.id)
    if (row === undefined) return
    await writeStoreFile(c.chunks.dir, path, row.document)
    const again = await c.store.getBootProfile(version.id)
    if (again === undefined || Buffer.from(again.document).equals(Buffer.from(row.document))) return
  }
}

/** Who decided the version's published profile: its row, or a file written before rows existed (only admins wrote those). */
async function publishedSource (c: BootProfileComponents, version: VersionRecord): Promise<BootProfileSource | undefined> {
  const row = await c.store.getBootProfile(version.id)
  if (row !== undefined) return row.source
  const onDisk = await stat(join(c.chunks.dir, bootProfilePath(version.manifestId!))).then(() => true, () => false)
  return onDisk ? 'admin' : undefined
}

async function signAndStore (c: BootProfileComponents, v: { image: string, version: VersionRecord }, chunks: ChunkId[], bytes: number, source: BootProfileSource, by: string): Promise<BootProfileResult | undefined> {
  const digest = v.version.manifestId!
  const nowMs = c.now()
  const document = encodeBootProfile({ format: 1, image: v.image, version: v.version.number, manifestDigest: digest, chunks, signedAtMs: nowMs }, c.keys.repository.privateKey)
  if (!await c.store.putBootProfile({ versionId: v.version.id, source, document, chunkCount: chunks.length, publishedAtMs: nowMs, publishedBy: by })) return undefined
  await syncProfileFile(c, v.version)
  return { image: v.image, version: v.version.number, manifestDigest: digest, chunks: chunks.length, bytes, path: bootProfilePath(digest) }
}

/**
 * Signs and stores the admin's profile of `image`@`version`, replacing an earlier one
 * (admin or automatic) and dropping held recordings. ERR_NOT_FOUND (no such version, or
 * still uploading), ERR_CONFLICT (a retired version: nobody starts it anew),
 * ERR_BAD_REQUEST (an id the version does not have).
 */
export async function publishBootProfile (c: BootProfileComponents, input: PublishBootProfileInput): Promise<BootProfileResult> {
  const { version, bytes: root } = await c.repository.getManifest(input.image, input.version)
  if (version.state === 'retired') throw conflict(`version ${version.number} is retired`)
  const { chunks, bytes } = await checkedChunks(c, { image: input.image, version, root }, input.chunks, input.signal)
  return (await signAndStore(c, { image: input.image, version }, chunks, bytes, 'admin', input.by))!
}

/** A published version of the image (what a user may boot): ERR_NOT_FOUND otherwise. */
async function publishedVersion (c: BootProfileComponents, image: string, version: number): Promise<{ version: VersionRecord, root: Uint8Array }> {
  const { version: v, bytes } = await c.repository.getManifest(image, version)
  if (v.state !== 'published') throw notFound(`version ${v.number} is not published`)
  return { version: v, root: bytes }
}

/**
 * Takes a node's recording of a published version without a profile: checked against the
 * version's chunk list, held as the user's one candidate; the one that completes the
 * quorum publishes the merge. ERR_CONFLICT: the version has a profile, or the user a
 * recording of it already; ERR_BAD_REQUEST: an id the version does not have.
 */
export async function submitBootProfileCandidate (c: BootProfileComponents, input: SubmitBootProfileInput): Promise<BootProfileSubmitResult> {
  const { version, root } = await publishedVersion(c, input.image, input.version)
  const client = await c.store.getClient(input.clientId)
  if (client === undefined || client.user !== input.user) throw forbidden('the client id is not a node of yours (a node announces before it submits)')
  if (await publishedSource(c, version) !== undefined) throw conflict(`${input.image} version ${version.number} has a boot profile`)
  const v = { image: input.image, version, root }
  const { chunks } = await checkedChunks(c, v, input.chunks, input.signal)
  const held = await c.store.addBootProfileCandidate({
    versionId: version.id, user: input.user, clientId: input.clientId, chunks, end: input.end, durationMs: input.durationMs, nowMs: c.now()
  }, MAX_BOOT_PROFILE_CANDIDATES)
  const out: BootProfileSubmitResult = { image: input.image, version: version.number, chunks: chunks.length, candidates: held.length, quorum: BOOT_PROFILE_QUORUM }
  if (held.length < BOOT_PROFILE_QUORUM) return out
  const merged = mergeBootRecordings(held.map((h) => h.chunks))
  // no chunk a majority agrees on: wait for more recordings (an admin may clear them)
  if (merged.length === 0) return out
  const { bytes } = await checkedChunks(c, v, merged, input.signal)
  const published = await signAndStore(c, v, merged, bytes, 'auto', `quorum of ${held.length}`)
  return published === undefined ? out : { ...out, candidates: 0, published }
}

/** Where the version's profile stands, for `user`. */
export async function bootProfileState (c: BootProfileComponents, image: string, version: number, user: string): Promise<BootProfileState> {
  const { version: v } = await publishedVersion(c, image, version)
  const published = await publishedSource(c, v)
  const held = await c.store.listBootProfileCandidates(v.id)
  const submitted = held.some((h) => h.user === user)
  return {
    image, version: v.number, ...(published === undefined ? {} : { published }), candidates: held.length, quorum: BOOT_PROFILE_QUORUM, submitted,
    wanted: published === undefined && !submitted && held.length < MAX_BOOT_PROFILE_CANDIDATES
  }
}

/** The recordings held for a version (admin). */
export async function listBootProfileCandidates (c: BootProfileComponents, image: string, version: number | 'latest'): Promise<BootProfileCandidateList> {
  const { version: v } = await c.repository.getManifest(image, version)
  const published = await publishedSource(c, v)
  const held = await c.store.listBootProfileCandidates(v.id)
  return {
    image, version: v.number, ...(published === undefined ? {} : { published }), quorum: BOOT_PROFILE_QUORUM,
    candidates: held.map((h) => ({ user: h.user, clientId: h.clientId, chunks: h.chunks.length, end: h.end, durationMs: h.durationMs, submittedAtMs: h.submittedAtMs }))
  }
}

/** Drops the recordings held for a version (admin); returns how many. */
export async function clearBootProfileCandidates (c: BootProfileComponents, image: string, version: number): Promise<number> {
  const { version: v } = await c.repository.getManifest(image, version)
  return await c.store.clearBootProfileCandidates(v.id)
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
