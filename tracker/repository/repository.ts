/**
 * The image repository service (see index.ts): upload leases, drafts and the version
 * lifecycle around the publish pipeline (publish.ts) and GC (gc.ts).
 */
import { randomUUID } from 'node:crypto'
import { stat } from 'node:fs/promises'
import { decodeManifest, encodeManifest, manifestDigest } from '../../protocol/index.ts'
import type { Logger } from '../../protocol/index.ts'
import type { ImageRecord, VersionRecord } from '../db/store.ts'
import { MAX_UPLOAD_BYTES } from '../constants.ts'
import { TrackerError, conflict, notFound, payloadTooLarge, unavailable } from '../errors.ts'
import type { Counter, Histogram } from '../metrics.ts'
import { DEFAULT_DELTA_LEVEL, createHashPool } from '../../protocol/index.ts'
import type { HashPool } from '../../protocol/index.ts'
import { ChunkPins } from './chunk-pins.ts'
import { publishDeltas } from './delta-publish.ts'
import { DeltaQueue } from './delta-queue.ts'
import { DELTA_BASE_VERSIONS, MAX_PENDING_DELTA_JOBS, RETIRED_KEEP_MS, ROLLBACK_STAT_CONCURRENCY, UPLOAD_HEARTBEAT_MS, UPLOAD_IDLE_TIMEOUT_MS, UPLOAD_LEASE_TTL_MS, UPLOAD_MIN_BYTES_PER_SEC, UPLOAD_RATE_WINDOW_MS, VERSION_CHUNK_BATCH } from './constants.ts'
import { collectGarbage } from './gc.ts'
import type { GcResult, ImageEntry, ImageRepository, ImageRepositoryComponents, ImageRepositoryInit, PublishInput, PublishResult } from './index.ts'
import { runPublishPipeline } from './publish.ts'

const DAY_MS = 24 * 3600_000

function positiveInt (value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback
  if (!Number.isSafeInteger(v) || v <= 0) throw new TypeError(`${name} must be a positive integer`)
  return v
}

export class ImageRepositoryService implements ImageRepository {
  private readonly components: ImageRepositoryComponents
  private readonly maxUploadBytes: number
  private readonly retiredKeepMs: number
  private readonly leaseTtlMs: number
  private readonly heartbeatMs: number
  private readonly uploadIdleMs: number
  private readonly uploadMinBytesPerSec: number
  private readonly uploadRateWindowMs: number
  private readonly deltaVersions: number
  private readonly deltaLevel: number
  private readonly log: Logger
  private readonly pins = new ChunkPins()
  private readonly running = new Set<Promise<unknown>>()
  private stopping: AbortController | undefined
  private deltaQueue: DeltaQueue | undefined
  /** one hashing worker shared by every publish (starting one per upload costs ~0.3 s) */
  private pool: HashPool | undefined
  private readonly publishes: Counter
  private readonly publishedBytes: Counter
  private readonly publishSeconds: Histogram
  private readonly gcFreed: Counter

  constructor (components: ImageRepositoryComponents, init: ImageRepositoryInit) {
    this.components = components
    this.maxUploadBytes = positiveInt(init.maxUploadBytes, MAX_UPLOAD_BYTES, 'maxUploadBytes')
    this.retiredKeepMs = positiveInt(init.retiredKeepMs, RETIRED_KEEP_MS, 'retiredKeepMs')
    this.leaseTtlMs = positiveInt(init.leaseTtlMs, UPLOAD_LEASE_TTL_MS, 'leaseTtlMs')
    this.heartbeatMs = positiveInt(init.heartbeatMs, UPLOAD_HEARTBEAT_MS, 'heartbeatMs')
    this.uploadIdleMs = positiveInt(init.uploadIdleMs, UPLOAD_IDLE_TIMEOUT_MS, 'uploadIdleMs')
    this.uploadMinBytesPerSec = positiveInt(init.uploadMinBytesPerSec, UPLOAD_MIN_BYTES_PER_SEC, 'uploadMinBytesPerSec')
    this.uploadRateWindowMs = positiveInt(init.uploadRateWindowMs, UPLOAD_RATE_WINDOW_MS, 'uploadRateWindowMs')
    this.deltaVersions = init.deltaVersions ?? DELTA_BASE_VERSIONS
    if (!Number.isSafeInteger(this.deltaVersions) || this.deltaVersions < 0) throw new TypeError('deltaVersions must be a non-negative integer')
    this.deltaLevel = positiveInt(init.deltaLevel, DEFAULT_DELTA_LEVEL, 'deltaLevel')
    if (this.heartbeatMs >= this.leaseTtlMs) throw new TypeError('heartbeatMs must be below leaseTtlMs')
    this.log = components.logger.forComponent('tracker:repository')
    const m = components.metrics
    this.publishes = m.counter('branchcast_publish_total', 'image uploads by outcome')
    this.publishedBytes = m.counter('branchcast_publish_bytes_total', 'image bytes published, by whether the chunk was new or already stored')
    this.publishSeconds = m.histogram('branchcast_publish_seconds', 'duration of successful image uploads', [1, 5, 15, 60, 300, 1200, 3600])
    this.gcFreed = m.counter('branchcast_gc_freed_bytes_total', 'bytes of chunk files deleted by GC')
  }

  async start (): Promise<void> {
    this.stopping = new AbortController()
    this.pool = createHashPool()
    this.deltaQueue = new DeltaQueue({ maxWaiting: MAX_PENDING_DELTA_JOBS, log: this.log, signal: AbortSignal.any([this.stopping.signal, this.components.shutdown]) })
  }

  async stop (): Promise<void> {
    this.stopping?.abort(new Error('image repository stopping'))
    await Promise.allSettled([...this.running])
    await this.deltaQueue?.idle()
    await this.pool?.close()
    this.pool = undefined
  }

  /** Runs `fn` as tracked work that `stop()` and tracker shutdown abort. */
  private async track<T> (signal: AbortSignal | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const signals = [this.components.shutdown]
    if (signal !== undefined) signals.push(signal)
    if (this.stopping !== undefined) signals.push(this.stopping.signal)
    const combined = AbortSignal.any(signals)
    const work = fn(combined)
    this.running.add(work)
    try { return await work } finally { this.running.delete(work) }
  }

  private async image (name: string): Promise<ImageRecord> {
    const image = await this.components.store.getImage(name)
    if (image === undefined) throw notFound(`no image ${JSON.stringify(name)}`)
    return image
  }

  private async entry (image: ImageRecord): Promise<ImageEntry> {
    const latest = await this.components.store.latestPublished(image.id)
    return { image, latestVersion: latest?.number ?? null }
  }

  async createImage (name: string, description?: string): Promise<ImageEntry> {
    return await this.entry(await this.components.store.createImage({ name, description, nowMs: this.components.now() }))
  }

  async listImages (only?: ReadonlySet<string>): Promise<ImageEntry[]> {
    const images = await this.components.store.listImages()
    return await Promise.all(images.filter((i) => only === undefined || only.has(i.name)).map(async (i) => await this.entry(i)))
  }

  async getImage (name: string): Promise<ImageEntry> {
    return await this.entry(await this.image(name))
  }

  /** A live upload lease, heartbeated until `end`; a lost lease aborts `controller`. */
  private async lease (imageName: string, controller: AbortController): Promise<{ id: string, end: () => Promise<void> }> {
    const { store, now } = this.components
    const id = randomUUID()
    await store.beginUpload({ id, imageName, nowMs: now(), ttlMs: this.leaseTtlMs })
    const timer = setInterval(() => {
      store.heartbeatUpload(id, now(), this.leaseTtlMs).then((alive) => {
        if (!alive) controller.abort(unavailable('upload lease lost'))
      }, (err) => { this.log.warn('lease heartbeat failed', { uploadId: id, err }) })
    }, this.heartbeatMs)
    timer.unref()
    return {
      id,
      end: async () => {
        clearInterval(timer)
        await store.endUpload(id).catch((err) => { this.log.warn('cannot end upload lease', { uploadId: id, err }) })
      }
    }
  }

  async publish (input: PublishInput): Promise<PublishResult> {
    if (input.declaredBytes !== undefined && input.declaredBytes > this.maxUploadBytes) {
      this.publishes.inc({ outcome: 'too_large' })
      throw payloadTooLarge(`upload of ${input.declaredBytes} bytes exceeds ${this.maxUploadBytes}`)
    }
    return await this.track(input.signal, async (outer) => {
      const { store, now } = this.components
      const started = performance.now()
      const image = await this.image(input.image)
      const controller = new AbortController()
      const signal = AbortSignal.any([outer, controller.signal])
      const lease = await this.lease(image.name, controller)
      let draft: VersionRecord | undefined
      let done = false
      try {
        draft = await store.createDraft({ imageId: image.id, createdBy: input.createdBy, nowMs: now(), uploadId: lease.id })
        const r = await runPublishPipeline(this.components, this.pins, {
          draft, source: input.source, declaredBytes: input.declaredBytes, maxUploadBytes: this.maxUploadBytes, idleMs: this.uploadIdleMs,
          minBytesPerSec: this.uploadMinBytesPerSec,
          rateWindowMs: this.uploadRateWindowMs,
          signal,
          pool: this.pool
        })
        signal.throwIfAborted()
        // Every chunk this version names is on stable storage before the version exists.
        await this.components.chunks.flush()
        let version = await store.finalizeDraft(draft.id, {
          manifestRoot: r.manifestRoot,
          manifestId: r.manifestId,
          totalBytes: r.totalBytes,
          chunkCount: r.chunkCount,
          newBytes: r.newBytes,
          expiresAtMs: decodeManifest(r.manifestRoot).expiresMs
        })
        if (input.publish === true) version = await store.publish(draft.id, now())
        done = true
        this.queueDeltas(image, version.number, r.manifestRoot, r.manifestId)
        const durationMs = Math.round(performance.now() - started)
        this.publishes.inc({ outcome: 'ok' })
        this.publishedBytes.inc({ kind: 'new' }, r.newBytes)
        this.publishedBytes.inc({ kind: 'stored' }, r.storedBytes)
        this.publishSeconds.observe(durationMs / 1000)
        this.log.info('version uploaded', { image: image.name, version: version.number, state: version.state, totalBytes: r.totalBytes, newBytes: r.newBytes, durationMs })
        return {
          version: version.number,
          state: version.state,
          manifestId: r.manifestId,
          totalBytes: r.totalBytes,
          chunkCount: r.chunkCount,
          newBytes: r.newBytes,
          storedBytes: r.storedBytes,
          diskBytes: r.diskBytes,
          imageSha256: r.imageSha256,
          durationMs
        }
      } catch (err) {
        // An abort's reason is what the caller should see (shutdown, lost lease, client gone).
        const stopping = this.components.shutdown.aborted || this.stopping?.signal.aborted === true
        const reason = stopping
          ? unavailable('tracker shutting down: upload rolled back, retry', err)
          : signal.aborted ? signal.reason : err
        this.publishes.inc({ outcome: reason instanceof TrackerError ? reason.code : 'error' })
        this.log.warn('upload failed, rolling back', { image: image.name, version: draft?.number, err: reason as Error })
        throw reason
      } finally {
        if (!done && draft !== undefined) {
          await store.deleteDraft(draft.id).catch((err) => { this.log.error('cannot delete failed draft', { versionId: draft?.id, err }) })
        }
        await lease.end()
      }
    })
  }

  /**
   * Deltas of the new version's chunks against the last `deltaVersions` published versions
   * before it (delta-publish.ts), computed after the upload has answered, one version at a
   * time (delta-queue.ts). The version exists by then, so GC keeps its chunks and the files
   * written for it. Best effort: a failure is logged and the version has no deltas.
   */
  private queueDeltas (image: ImageRecord, number: number, manifestRoot: Uint8Array, manifestId: string): void {
    if (this.deltaVersions === 0 || this.deltaQueue === undefined) return
    this.deltaQueue.push({
      label: `${image.name} v${number}`,
      run: async (signal) => {
        const earlier = (await this.components.store.listVersions(image.id, { state: 'published' }))
          .filter((v) => v.number < number).sort((a, b) => b.number - a.number).slice(0, this.deltaVersions)
        if (earlier.length === 0) return
        await publishDeltas({ chunks: this.components.chunks, privateKey: this.components.keys.repository.privateKey, manifestRoot, manifestId, earlier, level: this.deltaLevel, log: this.log, signal })
      }
    })
  }

  async deltasIdle (): Promise<void> {
    await this.deltaQueue?.idle()
  }

  private async version (image: string, number: number | 'latest'): Promise<VersionRecord> {
    const img = await this.image(image)
    const v = number === 'latest'
      ? await this.components.store.latestPublished(img.id)
      : await this.components.store.getVersion(img.id, number)
    if (v === undefined) throw notFound(number === 'latest' ? `image ${image} has no published version` : `image ${image} has no version ${number}`)
    return v
  }

  async publishVersion (image: string, number: number): Promise<VersionRecord> {
    const v = await this.version(image, number)
    if (v.manifestRoot === null) throw conflict(`version ${number} is still uploading`)
    return await this.components.store.publish(v.id, this.components.now())
  }

  async retireVersion (image: string, number: number): Promise<VersionRecord> {
    const v = await this.version(image, number)
    return await this.components.store.retire(v.id, this.components.now())
  }

  async deleteDraft (image: string, number: number): Promise<void> {
    const v = await this.version(image, number)
    if (v.state !== 'draft') throw conflict(`version ${number} is ${v.state}: only a draft can be deleted (retire a published version)`)
    if (v.manifestRoot === null) throw conflict(`version ${number} is still uploading`)
    await this.components.store.deleteDraft(v.id)
  }

  async rollback (image: string, to: number, createdBy: string, options: { signal?: AbortSignal } = {}): Promise<VersionRecord> {
    return await this.track(options.signal, async (outer) => {
      const { store, chunks, now, keys, config } = this.components
      const source = await this.version(image, to)
      if (source.state === 'draft' || source.manifestRoot === null) throw conflict(`version ${to} was never published`)
      const controller = new AbortController()
      const signal = AbortSignal.any([outer, controller.signal])
      const lease = await this.lease(image, controller)
      let draft: VersionRecord | undefined
      let done = false
      try {
        const ids = await store.versionChunkIds(source.id)
        // GC may have freed a long-retired version's chunks: never sign a manifest naming missing ones.
        for (let i = 0; i < ids.length; i += ROLLBACK_STAT_CONCURRENCY) {
          signal.throwIfAborted()
          const batch = ids.slice(i, i + ROLLBACK_STAT_CONCURRENCY)
          const present = await Promise.all(batch.map(async (id) => await stat(chunks.pathOf(id)).then(() => true, () => false)))
          const missing = batch.find((_, k) => !present[k])
          if (missing !== undefined) throw conflict(`version ${to} cannot be rolled back to: chunk ${missing} was garbage-collected`)
        }
        const old = decodeManifest(source.manifestRoot)
        draft = await store.createDraft({ imageId: source.imageId, createdBy, nowMs: now(), uploadId: lease.id, sourceOf: source.number })
        for (let i = 0; i < ids.length; i += VERSION_CHUNK_BATCH) {
          signal.throwIfAborted()
          await store.addVersionChunks(draft.id, ids.slice(i, i + VERSION_CHUNK_BATCH))
        }
        const nowMs = now()
        const { keyId: _keyId, ...body } = old
        const root = encodeManifest({ ...body, version: draft.number, createdMs: nowMs, expiresMs: nowMs + config.manifestTtlDays * DAY_MS }, keys.repository.privateKey)
        signal.throwIfAborted()
        await store.finalizeDraft(draft.id, {
          manifestRoot: root,
          manifestId: manifestDigest(root),
          totalBytes: old.totalBytes,
          chunkCount: old.chunkCount,
          newBytes: 0,
          expiresAtMs: nowMs + config.manifestTtlDays * DAY_MS
        })
        const published = await store.publish(draft.id, now())
        done = true
        this.log.info('rolled back', { image, from: to, version: published.number })
        return published
      } finally {
        if (!done && draft !== undefined) await store.deleteDraft(draft.id).catch(() => {})
        await lease.end()
      }
    })
  }

  async listVersions (image: string): Promise<VersionRecord[]> {
    return await this.components.store.listVersions((await this.image(image)).id)
  }

  async getVersion (image: string, number: number | 'latest'): Promise<VersionRecord> {
    return await this.version(image, number)
  }

  async getManifest (image: string, number: number | 'latest'): Promise<{ version: VersionRecord, bytes: Uint8Array }> {
    const v = await this.version(image, number)
    if (v.manifestRoot === null) throw notFound(`version ${v.number} is still uploading`)
    return { version: v, bytes: v.manifestRoot }
  }

  async gc (options: { signal?: AbortSignal } = {}): Promise<GcResult> {
    return await this.track(options.signal, async (signal) => {
      const r = await collectGarbage(this.components, this.pins, { retiredKeepMs: this.retiredKeepMs, signal })
      this.gcFreed.inc({}, r.freedBytes)
      this.log.info('gc done', { deletedChunks: r.deletedChunks, freedBytes: r.freedBytes, deletedDrafts: r.deletedDrafts.length, durationMs: r.durationMs })
      return r
    })
  }
}
