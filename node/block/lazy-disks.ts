/**
 * Instant start's node side: a VM boots an image version the node does not hold yet. One
 * NBD server (a Unix socket in `<dataDir>/block/`, a private directory) serves each such
 * version as an export; the pull of that version runs with the image's `PullDemand`, so a
 * guest's reads jump its queue, and is started again (with backoff) whenever it fails
 * while a VM reads the version — the node lost its network, every source went away. A read
 * that waits `stallMs` while no chunk arrives gives up (EIO, which the VM's `rerror=stop`
 * turns into a pause); `whenFlowing` resolves once the chunks those reads waited for are
 * in, and the session runtime then resumes the guest.
 *
 * A boot on an export is recorded (`recordBoot`, which the session runtime calls before it
 * starts the VM): the chunks the guest reads, in first-read order, until it is up. The
 * recording goes to the tracker when it wants one (the version has no boot profile yet):
 * enough users' recordings that agree become the version's profile.
 */
import { mkdir } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import type { Logger } from '../../protocol/index.ts'
import type { ImageVersion } from '../image-store/index.ts'
import type { PullDemand, PullOptions, PullReport } from '../pull/index.ts'
import { createBootRecorder } from './boot-recorder.ts'
import type { BootRecorder, BootRecording } from './boot-recorder.ts'
import type { BootProfileSink } from './boot-profile-sink.ts'
import { imageBlockSource, lazyReadStats } from './image-source.ts'
import type { LazyReadStats } from './image-source.ts'
import { startNbdServer } from './nbd-server.ts'
import type { BlockSource, NbdServer } from './nbd-server.ts'
import {
  BOOT_RECORD_MAX_BYTES, BOOT_RECORD_QUIET_MS, BOOT_RECORD_SUBMIT_TIMEOUT_MS, BOOT_RECORD_WINDOW_MS, LAZY_OPEN_POLL_MS, LAZY_OPEN_TIMEOUT_MS, LAZY_PULL_RETRY_MAX_MS, LAZY_PULL_RETRY_MIN_MS, LAZY_STALL_MS, MAX_SOCKET_PATH_BYTES, NBD_SOCKET_NAME
} from './constants.ts'

/** Where a session reads a version that is still arriving (what its VM's NBD client connects to). */
export interface LazyBase {
  image: string
  version: number
  /** the version's file once it is whole: what the session's overlay names as its backing */
  basePath: string
  sizeBytes: number
  socketPath: string
  exportName: string
}

export interface LazyDisksInit {
  dataDir: string
  /** a read waiting this long with no chunk arriving gives up and pauses the guest (default LAZY_STALL_MS) */
  stallMs?: number
  /** when a boot's recording ends without the guest saying it is up (defaults: BOOT_RECORD_QUIET_MS, BOOT_RECORD_WINDOW_MS, BOOT_RECORD_MAX_BYTES) */
  recording?: { quietMs?: number, windowMs?: number, maxBytes?: number }
}

/** What the session runtime holds while a boot on a lazy base is recorded. */
export interface BootRecordingHandle {
  /** the guest is up (its agent answered): the recording ends and goes to the tracker */
  up: () => void
  /** the boot ended before it was up (the VM stopped or failed to start): the recording is dropped */
  cancel: () => void
}

export interface LazyDisksComponents {
  images: { versions: (image: string) => Promise<ImageVersion[]> }
  /** the daemon's pull (one per image at a time; it passes `demandFor(image)` on) */
  pull: (options: PullOptions) => Promise<PullReport>
  demandFor: (image: string) => PullDemand
  logger: Logger
  /** where recorded boots go (the tracker); without it nothing is recorded */
  profiles?: BootProfileSink
  events?: { report: (type: string, payload: Record<string, unknown>) => Promise<unknown> }
}

interface Export {
  base: LazyBase
  version: ImageVersion
  /** what the NBD server serves: `inner`, through the boot recorder while one records */
  source: BlockSource
  inner: BlockSource
  recorder?: BootRecorder
  /** units reads gave up on: the guest is resumed once they are all held */
  stalled: Set<number>
  /** ends the backoff wait of the pull loop (a stall asks for a new try at once) */
  kick: () => void
  /** the guest's reads so far, and their waits for chunks */
  reads: LazyReadStats
}

/** The export name of an image version (`<image>@<version>`; image names have no `@`). */
export function lazyExportName (image: string, version: number): string { return `${image}@${version}` }

/** The NBD socket: in the data directory when the path fits a Unix socket address, else a private temp directory named after it. */
function socketDirFor (dataDir: string): string {
  const dir = join(dataDir, 'block')
  if (Buffer.byteLength(join(dir, NBD_SOCKET_NAME)) <= MAX_SOCKET_PATH_BYTES) return dir
  return join(tmpdir(), `branchcast-block-${createHash('sha256').update(dir).digest('hex').slice(0, 16)}`)
}

export class LazyDisks {
  readonly #init: LazyDisksInit
  readonly #c: LazyDisksComponents
  readonly #log: Logger
  readonly #exports = new Map<string, Export>()
  /** exports being opened, so two starts of one version share the work */
  readonly #opening = new Map<string, Promise<Export>>()
  /** callers of whenFlowing waiting for an export to be served (daemon restart) */
  readonly #served = new Map<string, Set<() => void>>()
  readonly #loops = new Set<Promise<void>>()
  readonly #stop = new AbortController()
  #server: NbdServer | undefined

  constructor (init: LazyDisksInit, components: LazyDisksComponents) {
    this.#init = init
    this.#c = components
    this.#log = components.logger.forComponent('node:block')
  }

  get socketPath (): string { return join(socketDirFor(this.#init.dataDir), NBD_SOCKET_NAME) }

  async start (): Promise<void> {
    await mkdir(socketDirFor(this.#init.dataDir), { recursive: true, mode: 0o700 })
    this.#server = await startNbdServer({ socketPath: this.socketPath, lookup: (name) => this.#exports.get(name)?.source, logger: this.#log })
  }

  /** Closes the server (VMs reading through it see the socket close: their guests pause) and ends the pull loops. */
  async stop (): Promise<void> {
    this.#stop.abort(new Error('node stopping'))
    for (const e of this.#exports.values()) e.kick()
    await this.#server?.close()
    await Promise.allSettled([...this.#loops])
  }

  /**
   * Serves `image` at `version` (undefined: the version the pull brings) over NBD while it
   * is pulled: starts the pull (or joins the running one through the image's demand) and
   * resolves once the version is open, at once when it is on disk already, ready or partial.
   */
  async open (image: string, version: number | undefined, options: { signal?: AbortSignal } = {}): Promise<LazyBase> {
    if (this.#server === undefined) throw new Error('lazy disks are not started')
    if (version !== undefined) {
      const name = lazyExportName(image, version)
      const held = this.#exports.get(name)
      if (held !== undefined) {
        if ((await this.#c.images.versions(image)).includes(held.version)) return held.base
        this.#exports.delete(name) // deleted since (revoked, pruned): a new pull opens it anew
      }
      let opening = this.#opening.get(name)
      if (opening === undefined) {
        opening = this.#open(image, version, options.signal).finally(() => this.#opening.delete(name))
        this.#opening.set(name, opening)
      }
      return (await opening).base
    }
    return (await this.#open(image, undefined, options.signal)).base
  }

  async #open (image: string, wanted: number | undefined, signal: AbortSignal | undefined): Promise<Export> {
    let transferring = false
    // a version named: that one, held or not; none: the newest, once the pull (of the latest) opened it
    const pick = async (): Promise<ImageVersion | undefined> => {
      const vs = await this.#c.images.versions(image)
      return wanted === undefined ? (transferring ? vs[0] : undefined) : vs.find((v) => v.version === wanted)
    }
    let version = await pick()
    let kick = (): void => {}
    if (version === undefined || !version.complete) {
      const loop = this.#pullLoop(image, wanted, () => version, (k) => { kick = k }, () => { transferring = true }, this.#stop.signal)
      this.#loops.add(loop)
      void loop.finally(() => this.#loops.delete(loop))
      const deadline = AbortSignal.any([this.#stop.signal, AbortSignal.timeout(LAZY_OPEN_TIMEOUT_MS), ...(signal === undefined ? [] : [signal])])
      // the pull verifies the manifest, then opens the version's file: poll for it
      while (version === undefined) {
        deadline.throwIfAborted()
        await delay(LAZY_OPEN_POLL_MS, undefined, { signal: deadline })
        if (wanted !== undefined || transferring) version = await pick()
      }
    }
    const v = version
    const base: LazyBase = {
      image, version: v.version, basePath: v.paths.image, sizeBytes: v.manifest.totalBytes,
      socketPath: this.socketPath, exportName: lazyExportName(image, v.version)
    }
    const existing = this.#exports.get(base.exportName)
    if (existing !== undefined) return existing
    const stalled = new Set<number>()
    const demand = this.#c.demandFor(image)
    const reads = lazyReadStats()
    const e: Export = {
      base,
      version: v,
      stalled,
      reads,
      kick: () => { kick() },
      source: {
        size: base.sizeBytes,
        read: async (offset, length, signal) => await (e.recorder?.recording === true ? e.recorder.source : e.inner).read(offset, length, signal)
      },
      inner: imageBlockSource(v, {
        size: base.sizeBytes,
        want: (units) => { demand.want(units) },
        stats: reads,
        stallMs: this.#init.stallMs ?? LAZY_STALL_MS,
        onStall: (units) => {
          for (const u of units) stalled.add(u)
          this.#log.warn('a guest read waits for chunks that do not arrive: pausing the guest', { image, version: v.version, units: units.length })
          kick()
        }
      })
    }
    this.#exports.set(base.exportName, e)
    for (const wake of this.#served.get(image) ?? []) wake()
    this.#log.info('serving an image version over NBD while it arrives', { image, version: v.version, held: v.heldBytes, total: base.sizeBytes })
    return e
  }

  /** Pulls until the version is whole or the node stops; a failed pull is tried again after a growing wait. */
  async #pullLoop (image: string, wanted: number | undefined, current: () => ImageVersion | undefined, setKick: (k: () => void) => void, onTransfer: () => void, signal: AbortSignal): Promise<void> {
    let waitMs = LAZY_PULL_RETRY_MIN_MS
    while (!signal.aborted && current()?.complete !== true) {
      try {
        await this.#c.pull({ image, version: wanted, bootProfile: true, signal, onProgress: (p) => { if (p.phase === 'transfer') onTransfer() } })
        return
      } catch (err) {
        if (signal.aborted) return
        this.#log.warn('a pull a VM reads from failed: trying again', { image, version: wanted, retryInMs: waitMs, error: (err as Error).message })
      }
      // a version deleted meanwhile (revoked, pruned) is no longer wanted here
      const v = current()
      if (v !== undefined && !(await this.#c.images.versions(image)).includes(v)) return
      const again = new AbortController()
      setKick(() => { again.abort() })
      await delay(waitMs, undefined, { signal: AbortSignal.any([signal, again.signal]) }).catch(() => {})
      waitMs = Math.min(LAZY_PULL_RETRY_MAX_MS, waitMs * 2)
    }
  }

  /**
   * Records the boot about to start on the export `exportName` (from its first read, until
   * the handle says the guest is up or the recording's own bounds end it), when a sink for
   * recordings is configured; undefined otherwise, or when the export is not served. A new
   * boot on the same export drops the recording of the one before.
   */
  recordBoot (exportName: string): BootRecordingHandle | undefined {
    const e = this.#exports.get(exportName)
    if (e === undefined || this.#c.profiles === undefined) return undefined
    e.recorder?.stop()
    const up = new AbortController()
    let cancelled = false
    const r = this.#init.recording ?? {}
    const recorder = createBootRecorder(e.inner, {
      table: e.version.table,
      until: AbortSignal.any([up.signal, this.#stop.signal]),
      quietMs: r.quietMs ?? BOOT_RECORD_QUIET_MS,
      windowMs: r.windowMs ?? BOOT_RECORD_WINDOW_MS,
      maxBytes: r.maxBytes ?? BOOT_RECORD_MAX_BYTES
    })
    e.recorder = recorder
    const task = recorder.done.then(async (rec) => {
      if (e.recorder === recorder) e.recorder = undefined
      if (cancelled || this.#stop.signal.aborted || rec.end === 'stopped' || rec.chunks.length === 0) return
      await this.#submit(e.base, rec)
    }).catch((err: unknown) => { this.#log.warn('a recorded boot did not reach the tracker', { image: e.base.image, version: e.base.version, error: (err as Error).message }) })
    this.#loops.add(task)
    void task.finally(() => this.#loops.delete(task))
    const t0 = performance.now()
    const up0 = { ...e.reads }
    return {
      up: () => {
        const r = e.reads
        this.#log.info('a lazy boot is up', {
          image: e.base.image, version: e.base.version, ms: Math.round(performance.now() - t0), reads: r.reads - up0.reads, bytes: r.bytes - up0.bytes,
          waited: r.waited - up0.waited, waitMs: Math.round(r.waitMs - up0.waitMs), maxWaitMs: Math.round(r.maxWaitMs), readMs: Math.round(r.readMs - up0.readMs), held: e.version.heldBytes
        })
        up.abort()
      },
      cancel: () => { cancelled = true; recorder.stop() }
    }
  }

  /** Reports a finished recording and hands it to the tracker when it wants one. */
  async #submit (base: LazyBase, rec: BootRecording): Promise<void> {
    const { image, version } = base
    const end = rec.end === 'signal' ? 'agent' : rec.end as 'quiet' | 'window' | 'full'
    this.#log.info('recorded a lazy boot', { image, version, chunks: rec.chunks.length, bytes: rec.bytes, end, durationMs: rec.durationMs })
    await this.#c.events?.report('profile.recorded', { image, version, chunks: rec.chunks.length, bytes: rec.bytes, end, durationMs: rec.durationMs })
    const signal = AbortSignal.any([this.#stop.signal, AbortSignal.timeout(BOOT_RECORD_SUBMIT_TIMEOUT_MS)])
    const sink = this.#c.profiles!
    if (!await sink.wanted(image, version, { signal })) {
      this.#log.debug('the tracker wants no recording of this version (it has a profile, or ours)', { image, version })
      return
    }
    const r = await sink.submit(image, version, { chunks: rec.chunks, end, durationMs: rec.durationMs }, { signal })
    this.#log.info('handed a recorded boot to the tracker', { image, version, candidates: r.candidates, quorum: r.quorum, published: r.published !== undefined })
    await this.#c.events?.report('profile.submitted', { image, version, chunks: r.chunks, candidates: r.candidates, published: r.published !== undefined })
  }

  /**
   * Resolves once the chunks that reads of `image`'s export gave up on are all held (at
   * once when none did): the guest may go on. Waits for the export to be served again
   * first when it is not (a daemon restart finds a session paused on its reads).
   */
  async whenFlowing (image: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    const signal = AbortSignal.any([this.#stop.signal, ...(options.signal === undefined ? [] : [options.signal])])
    let e = [...this.#exports.values()].find((x) => x.base.image === image)
    while (e === undefined) {
      signal.throwIfAborted()
      await new Promise<void>((resolve, reject) => {
        const waiters = this.#served.get(image) ?? new Set()
        this.#served.set(image, waiters)
        const done = (): void => { waiters.delete(wake); signal.removeEventListener('abort', onAbort) }
        const wake = (): void => { done(); resolve() }
        const onAbort = (): void => { done(); reject(signal.reason) }
        waiters.add(wake)
        signal.addEventListener('abort', onAbort, { once: true })
      })
      e = [...this.#exports.values()].find((x) => x.base.image === image)
    }
    const units = [...e.stalled]
    await Promise.all(units.map(async (u) => { await e.version.whenHeld(u, signal) }))
    for (const u of units) e.stalled.delete(u)
  }
}
