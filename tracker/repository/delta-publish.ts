/**
 * Deltas of a version just uploaded, written next to the chunks (see deltas.ts for how
 * they are found and coded, protocol/delta/delta-index.ts for the layout):
 *
 *   <store>/deltas/<2 hex>/<target>-<key>            one per delta kept
 *   <store>/delta-indexes/<2 hex>/<manifest digest>  the signed index, written last
 *
 * Plain files in the chunk store's directory, so the built-in origin and an nginx/IIS
 * serving the store hand them out as they are. Best effort: a failure here is logged and
 * the version is published without deltas (nodes then fetch whole chunks, as old nodes
 * always do). Files are written to a temporary name and renamed, so a reader sees a whole
 * file or none; they are not fsynced — one lost in a crash costs a node a fallback to the
 * whole chunk, never a wrong byte (every delta is checked against its target's id).
 */
import { randomBytes } from 'node:crypto'
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { decodeManifest, deltaIndexPath, encodeDeltaIndex, readChunkList } from '../../protocol/index.ts'
import type { ChunkId, ChunkStore, Logger } from '../../protocol/index.ts'
import type { VersionRecord } from '../db/store.ts'
import type { KeyObject } from 'node:crypto'
import { computeDeltas } from './deltas.ts'

export interface PublishDeltasInput {
  chunks: ChunkStore
  privateKey: KeyObject
  /** the new version's signed manifest root and its digest */
  manifestRoot: Uint8Array
  manifestId: string
  /** earlier versions whose chunks serve as bases, newest first */
  earlier: readonly VersionRecord[]
  level: number
  log: Logger
  signal: AbortSignal
}

export interface PublishDeltasResult {
  deltas: number
  deltaBytes: number
  /** stored bytes of the whole chunks those deltas stand for */
  replacedBytes: number
  newChunks: number
}

/** Writes `bytes` at `rel` under `root` through a temporary file and a rename. */
export async function writeStoreFile (root: string, rel: string, bytes: Uint8Array): Promise<void> {
  const path = join(root, rel)
  await mkdir(dirname(path), { recursive: true })
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  try {
    await writeFile(tmp, bytes)
    await rename(tmp, path)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
}

/** The chunk ids of a finalized version in image order (list parts read from the store). */
async function chunkList (chunks: ChunkStore, manifestRoot: Uint8Array, signal: AbortSignal): Promise<ChunkId[]> {
  const ids: ChunkId[] = []
  for await (const ref of readChunkList(decodeManifest(manifestRoot), async (id) => await chunks.get(id, { signal }), { signal })) ids.push(ref.id)
  return ids
}

export async function publishDeltas (input: PublishDeltasInput): Promise<PublishDeltasResult> {
  const { chunks, signal } = input
  const version = await chunkList(chunks, input.manifestRoot, signal)
  const earlier: ChunkId[][] = []
  for (const v of input.earlier) {
    if (v.manifestRoot !== null) earlier.push(await chunkList(chunks, v.manifestRoot, signal))
  }
  const r = await computeDeltas({
    version,
    earlier,
    read: async (id) => await chunks.get(id, { signal }),
    write: async (path, bytes) => { await writeStoreFile(chunks.dir, path, bytes) },
    level: input.level,
    signal
  })
  if (r.entries.length > 0) {
    signal.throwIfAborted()
    const index = encodeDeltaIndex({ manifestDigest: input.manifestId, entries: r.entries }, input.privateKey)
    await writeStoreFile(chunks.dir, deltaIndexPath(input.manifestId), index)
  }
  input.log.info('deltas computed', { deltas: r.entries.length, newChunks: r.newChunks, deltaBytes: r.deltaBytes, replacedBytes: r.replacedStoredBytes, poolChunks: r.poolChunks })
  return { deltas: r.entries.length, deltaBytes: r.deltaBytes, replacedBytes: r.replacedStoredBytes, newChunks: r.newChunks }
}
