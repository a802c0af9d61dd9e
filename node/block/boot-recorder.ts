/**
 * Records a boot profile: wraps the `BlockSource` a guest boots from and notes which chunks
 * its reads cover, in first-read order (the moment a read is asked, not when it is
 * answered, so waiting reads keep their place), until the first of: a stop signal (the
 * guest is up: its agent answers, or the boot marker was seen), reads quiet for `quietMs`
 * (none in flight, none asked), `windowMs` after the first read, `maxChunks` or `maxBytes`
 * recorded. The result is the ordered, distinct chunk ids a boot profile lists
 * (`protocol/boot-profile/`); later reads pass through unrecorded.
 *
 * The wrapper changes nothing about the reads themselves: the inner source still decides
 * what is served and when.
 */
import type { ChunkId } from '../../protocol/index.ts'
import { MAX_BOOT_PROFILE_CHUNKS } from '../../protocol/index.ts'
import { unitsCovering } from './image-source.ts'
import type { BlockSource } from './nbd-server.ts'

/** The version's chunk table, as far as the recorder needs it (node/pull's `ChunkTable` has it). */
export interface RecordedTable {
  readonly offsets: Float64Array
  readonly unitOf: Uint32Array
  unitId: (u: number) => ChunkId
  readonly unitLengths: Uint32Array
}

export interface BootRecorderInit {
  table: RecordedTable
  /** recording ends when this aborts: e.g. `AbortSignal.any([agentUp, AbortSignal.timeout(ms)])` */
  until?: AbortSignal
  /** most chunks recorded (default and ceiling: `MAX_BOOT_PROFILE_CHUNKS`) */
  maxChunks?: number
  /** most bytes of distinct chunks recorded (default: no cap but `maxChunks`) */
  maxBytes?: number
  /** recording ends once no read is in flight and none was asked for this long (after the first read) */
  quietMs?: number
  /** recording ends this long after the first read */
  windowMs?: number
}

/** `signal`: `until` aborted; `full`: a cap reached; `stopped`: `stop()` */
export type BootRecordingEnd = 'stopped' | 'signal' | 'full' | 'quiet' | 'window'

export interface BootRecording {
  /** chunk ids in first-read order, distinct */
  chunks: ChunkId[]
  /** why recording ended (`full`: maxChunks reached) */
  end: BootRecordingEnd
  /** bytes of distinct chunks recorded (what a profile-first pull fetches ahead) */
  bytes: number
  /** from the first read to the end (0 when nothing was read) */
  durationMs: number
}

export interface BootRecorder {
  /** the wrapped source: give this to the NBD server */
  readonly source: BlockSource
  /** ends recording now (idempotent) and gives the recording */
  stop: () => BootRecording
  /** resolves when recording ends, however it ends */
  readonly done: Promise<BootRecording>
  readonly recording: boolean
}

export function createBootRecorder (inner: BlockSource, init: BootRecorderInit): BootRecorder {
  const maxChunks = init.maxChunks ?? MAX_BOOT_PROFILE_CHUNKS
  if (!Number.isInteger(maxChunks) || maxChunks < 1 || maxChunks > MAX_BOOT_PROFILE_CHUNKS) throw new TypeError(`maxChunks must be 1..${MAX_BOOT_PROFILE_CHUNKS}`)
  for (const k of ['maxBytes', 'quietMs', 'windowMs'] as const) {
    const v = init[k]
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new TypeError(`${k} must be a positive integer`)
  }
  const { table } = init
  const seen = new Set<number>()
  const order: number[] = []
  let bytes = 0
  let firstReadMs: number | undefined
  let inFlight = 0
  let quietTimer: NodeJS.Timeout | undefined
  let windowTimer: NodeJS.Timeout | undefined
  let result: BootRecording | undefined
  let resolveDone: (r: BootRecording) => void = () => {}
  const done = new Promise<BootRecording>((resolve) => { resolveDone = resolve })

  const finish = (end: BootRecordingEnd): BootRecording => {
    if (result !== undefined) return result
    init.until?.removeEventListener('abort', onAbort)
    clearTimeout(quietTimer)
    clearTimeout(windowTimer)
    result = { chunks: order.map((u) => table.unitId(u)), end, bytes, durationMs: firstReadMs === undefined ? 0 : Math.round(performance.now() - firstReadMs) }
    resolveDone(result)
    return result
  }
  const armQuiet = (): void => {
    clearTimeout(quietTimer)
    if (init.quietMs === undefined || inFlight > 0 || result !== undefined) return
    quietTimer = setTimeout(() => { finish('quiet') }, init.quietMs)
  }
  const onAbort = (): void => { finish('signal') }
  if (init.until?.aborted === true) finish('signal')
  else init.until?.addEventListener('abort', onAbort, { once: true })

  const record = (offset: number, length: number): void => {
    if (firstReadMs === undefined) {
      firstReadMs = performance.now()
      if (init.windowMs !== undefined) windowTimer = setTimeout(() => { finish('window') }, init.windowMs)
    }
    for (const u of unitsCovering(table, offset, length)) {
      if (seen.has(u)) continue
      if (init.maxBytes !== undefined && bytes + table.unitLengths[u]! > init.maxBytes) { finish('full'); return }
      seen.add(u)
      order.push(u)
      bytes += table.unitLengths[u]!
      if (order.length >= maxChunks) { finish('full'); return }
    }
  }

  return {
    source: {
      size: inner.size,
      async read (offset, length, signal) {
        if (result !== undefined) return await inner.read(offset, length, signal)
        record(offset, length)
        inFlight++
        clearTimeout(quietTimer)
        try {
          return await inner.read(offset, length, signal)
        } finally {
          inFlight--
          armQuiet()
        }
      }
    },
    stop: () => finish('stopped'),
    done,
    get recording () { return result === undefined }
  }
}
