/**
 * The publish pipeline: upload bytes → FastCDC chunks → chunk store (new chunks written
 * once) → chunk-list parts (stored as chunks too) → version chunk references in batches →
 * signed manifest → finalized draft. Memory is bounded by the chunk writes in flight and
 * one list part, whatever the image size.
 */
import { createHash } from 'node:crypto'
import { utimes } from 'node:fs/promises'
import { chunkStreamParallel } from '../../protocol/index.ts'
import { DEFAULT_CHUNKING } from '../../protocol/index.ts'
import { createChunkListBuilder } from '../../protocol/index.ts'
import type { ListPart } from '../../protocol/index.ts'
import { encodeManifest, manifestDigest } from '../../protocol/index.ts'
import type { ManifestPart } from '../../protocol/index.ts'
import type { HashPool } from '../../protocol/index.ts'
import type { PutResult } from '../../protocol/index.ts'
import type { VersionRecord } from '../db/store.ts'
import { TrackerError, badRequest, payloadTooLarge } from '../errors.ts'
import type { ChunkPins } from './chunk-pins.ts'
import { PUBLISH_PUT_CONCURRENCY, VERSION_CHUNK_BATCH } from './constants.ts'
import type { ImageRepositoryComponents, PublishResult } from './index.ts'

const DAY_MS = 24 * 3600_000

export interface UploadPace {
  /** longest wait for the next upload bytes */
  idleMs: number
  /** slowest accepted upload, averaged over each `rateWindowMs` */
  minBytesPerSec: number
  rateWindowMs: number
}

export interface PipelineInput extends UploadPace {
  draft: VersionRecord
  source: AsyncIterable<Uint8Array>
  declaredBytes: number | undefined
  maxUploadBytes: number
  signal: AbortSignal
  /** hashing worker pool (default: one started for this upload) */
  pool?: HashPool
}

export type PipelineResult = Omit<PublishResult, 'state' | 'durationMs' | 'version'> & { manifestRoot: Uint8Array }

/**
 * The source's buffers; fails when one takes longer than `idleMs` to arrive, or when a
 * window of `rateWindowMs` brings fewer than `minBytesPerSec` on average — a client
 * trickling a byte a second would otherwise hold its lease, and the GC horizon, forever.
 */
async function * paced (source: AsyncIterable<Uint8Array>, { idleMs, minBytesPerSec, rateWindowMs }: UploadPace): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]()
  let timer: NodeJS.Timeout | undefined
  const minWindowBytes = minBytesPerSec * rateWindowMs / 1000
  let windowStart = performance.now()
  let windowBytes = 0
  try {
    while (true) {
      const idle = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => { reject(new TrackerError('ERR_UPLOAD_IDLE', `no upload bytes for ${idleMs} ms`)) }, idleMs)
      })
      const next = await Promise.race([it.next(), idle]).finally(() => clearTimeout(timer))
      if (next.done === true) return
      windowBytes += next.value.byteLength
      const t = performance.now()
      if (t - windowStart >= rateWindowMs) {
        const rate = windowBytes * 1000 / (t - windowStart)
        if (windowBytes < minWindowBytes) throw new TrackerError('ERR_UPLOAD_TOO_SLOW', `upload at ${rate.toFixed(0)} bytes/s, below the minimum ${minBytesPerSec}`)
        windowStart = t
        windowBytes = 0
      }
      yield next.value
    }
  } finally {
    clearTimeout(timer)
    // not awaited: with a read still pending on a stalled client, return() may never settle
    it.return?.()?.catch(() => {})
  }
}

/** Counts, caps and hashes the upload as it passes to the chunker. */
async function * measured (source: AsyncIterable<Uint8Array>, declared: number | undefined, max: number, pace: UploadPace, hash: ReturnType<typeof createHash>, seen: { bytes: number }): AsyncGenerator<Uint8Array> {
  for await (const buf of paced(source, pace)) {
    seen.bytes += buf.byteLength
    if (seen.bytes > max) throw payloadTooLarge(`upload exceeds ${max} bytes`)
    if (declared !== undefined && seen.bytes > declared) throw badRequest(`upload is longer than its declared ${declared} bytes`)
    hash.update(buf)
    yield buf
  }
  if (declared !== undefined && seen.bytes !== declared) throw badRequest(`upload truncated: ${seen.bytes} of ${declared} declared bytes`)
}

interface InFlight {
  id: string
  length: number
  put: Promise<PutResult>
}

export async function runPublishPipeline (components: ImageRepositoryComponents, pins: ChunkPins, input: PipelineInput): Promise<PipelineResult> {
  const { store, chunks, keys, config } = components
  const { draft, signal } = input
  const hash = createHash('sha256')
  const seen = { bytes: 0 }
  const builder = createChunkListBuilder()
  const parts: ManifestPart[] = []
  const window: InFlight[] = []
  /** ids written or found but not yet referenced by the draft in the database (pinned) */
  let unrecorded: string[] = []
  let chunkCount = 0
  let totalBytes = 0
  let newBytes = 0
  let storedBytes = 0
  let diskBytes = 0

  const flush = async (): Promise<void> => {
    if (unrecorded.length === 0) return
    const ids = unrecorded
    unrecorded = []
    await store.addVersionChunks(draft.id, ids)
    for (const id of ids) pins.unpin(id)
  }

  /** Puts a chunk; a chunk already stored gets its mtime refreshed so another process's GC leaves it alone. */
  const putChunk = async (id: string, bytes: Uint8Array): Promise<PutResult> => {
    pins.pin(id)
    unrecorded.push(id)
    await pins.settled(id)
    const r = await chunks.put(bytes, { id, signal })
    if (r.stored) return r
    const t = new Date()
    try {
      await utimes(chunks.pathOf(id), t, t)
      return r
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      // deleted behind the store's back (GC in another process): write it again
      await chunks.delete(id)
      return await chunks.put(bytes, { id, signal })
    }
  }

  const storePart = async (part: ListPart): Promise<void> => {
    const r = await putChunk(part.id, part.bytes)
    if (r.stored) diskBytes += r.diskBytes
    parts.push({ id: part.id, bytes: part.bytes.byteLength, entries: part.entries })
  }

  const settleOldest = async (): Promise<void> => {
    const f = window.shift() as InFlight
    const r = await f.put
    if (r.stored) { newBytes += f.length; diskBytes += r.diskBytes } else storedBytes += f.length
    const part = builder.add({ id: f.id, length: f.length })
    if (part !== undefined) await storePart(part)
    if (unrecorded.length >= VERSION_CHUNK_BATCH) await flush()
  }

  try {
    const source = measured(input.source, input.declaredBytes, input.maxUploadBytes, input, hash, seen)
    for await (const chunk of chunkStreamParallel(source, DEFAULT_CHUNKING, { signal, pool: input.pool })) {
      const put = putChunk(chunk.id, chunk.bytes)
      put.catch(() => {}) // awaited in order by settleOldest
      window.push({ id: chunk.id, length: chunk.length, put })
      chunkCount++
      totalBytes += chunk.length
      if (window.length >= PUBLISH_PUT_CONCURRENCY) await settleOldest()
    }
    while (window.length > 0) await settleOldest()
    if (totalBytes === 0) throw badRequest('empty upload: an image has at least one byte')
    const last = builder.finish()
    if (last !== undefined) await storePart(last)
    await flush()
    signal.throwIfAborted()

    const nowMs = components.now()
    const imageSha256 = hash.digest('hex')
    const manifestRoot = encodeManifest({
      image: draft.imageName,
      version: draft.number,
      totalBytes,
      chunking: DEFAULT_CHUNKING,
      chunkCount,
      createdMs: nowMs,
      expiresMs: nowMs + config.manifestTtlDays * DAY_MS,
      parts,
      imageSha256
    }, keys.repository.privateKey)
    return { manifestRoot, manifestId: manifestDigest(manifestRoot), totalBytes, chunkCount, newBytes, storedBytes, diskBytes, imageSha256 }
  } finally {
    // On failure: let writes in flight finish (their files stay unreferenced for GC), then drop the pins.
    await Promise.allSettled(window.map((f) => f.put))
    for (const id of unrecorded) pins.unpin(id)
  }
}
