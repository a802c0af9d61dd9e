/**
 * SHA-256 on worker threads, so hashing chunks uses more than one core.
 *
 * Each request copies its chunks into one buffer and transfers it (a structured clone of a
 * view would copy the view's whole backing buffer); the worker transfers it back with the
 * ids and it is reused, because allocating a fresh buffer per request measured about twice
 * the CPU per hashed byte (allocation, zeroing and the GCs they trigger). Workers are referenced only while
 * they have work, so an idle pool never keeps the process alive; `close()` terminates them.
 */
import { Worker } from 'node:worker_threads'
import type { ChunkId } from '../store/chunk-id.ts'

export interface HashPool {
  /** SHA-256 ids of `chunks`, in order. Rejects with the signal's reason when aborted. */
  hash: (chunks: Uint8Array[], options?: { signal?: AbortSignal }) => Promise<ChunkId[]>
  /** Terminates the workers; pending requests reject. Safe to call twice. */
  close: () => Promise<void>
}

export interface HashPoolInit {
  /** worker threads; default 1 (the calling thread cuts and hashes too) */
  workers?: number
}

/** Buffers kept for reuse: one per request in flight and a few more. */
const MAX_SPARE_BUFFERS = 8
/** Smallest transfer buffer: a usual batch (1 MiB of chunks) plus one large chunk fits. */
const MIN_BUFFER_BYTES = 2 * 1024 * 1024

// CommonJS, evaluated in the worker: a copy of chunk-id's rule (hex SHA-256), no imports of ours.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads')
const { hash } = require('node:crypto')
parentPort.on('message', ({ seq, buffer, lengths }) => {
  const bytes = new Uint8Array(buffer)
  const ids = new Array(lengths.length)
  let o = 0
  for (let k = 0; k < lengths.length; k++) {
    ids[k] = hash('sha256', bytes.subarray(o, o + lengths[k]), 'hex')
    o += lengths[k]
  }
  parentPort.postMessage({ seq, ids, buffer }, [buffer])
})
`

interface Pending {
  resolve: (ids: ChunkId[]) => void
  reject: (err: unknown) => void
  worker: PoolWorker
}

interface PoolWorker {
  worker: Worker
  inFlight: number
}

export function createHashPool (init: HashPoolInit = {}): HashPool {
  const count = init.workers ?? 1
  if (!Number.isSafeInteger(count) || count < 1) throw new TypeError('workers must be a positive integer')
  const pending = new Map<number, Pending>()
  const spare: ArrayBuffer[] = []
  let seq = 0
  let closed = false

  const fail = (w: PoolWorker, err: unknown): void => {
    for (const [k, p] of pending) {
      if (p.worker === w) { pending.delete(k); p.reject(err) }
    }
  }

  const workers: PoolWorker[] = Array.from({ length: count }, () => {
    const w: PoolWorker = { worker: new Worker(WORKER_SOURCE, { eval: true }), inFlight: 0 }
    w.worker.unref()
    w.worker.on('message', ({ seq: s, ids, buffer }: { seq: number, ids: ChunkId[], buffer: ArrayBuffer }) => {
      if (--w.inFlight === 0) w.worker.unref()
      if (spare.length < MAX_SPARE_BUFFERS) spare.push(buffer)
      const p = pending.get(s)
      if (p === undefined) return // aborted meanwhile
      pending.delete(s)
      p.resolve(ids)
    })
    w.worker.on('error', (err) => { fail(w, err) })
    w.worker.on('exit', (code) => { fail(w, new Error(`hash worker exited (${code})`)) })
    return w
  })

  function hash (chunks: Uint8Array[], options: { signal?: AbortSignal } = {}): Promise<ChunkId[]> {
    const { signal } = options
    if (closed) return Promise.reject(new Error('hash pool is closed'))
    if (signal?.aborted === true) return Promise.reject(signal.reason)
    let total = 0
    const lengths = chunks.map((c) => { total += c.length; return c.length })
    let buffer: ArrayBuffer | undefined
    while (buffer === undefined && spare.length > 0) {
      const b = spare.pop() as ArrayBuffer
      if (b.byteLength >= total) buffer = b
    }
    buffer ??= new ArrayBuffer(Math.max(total, MIN_BUFFER_BYTES))
    const bytes = new Uint8Array(buffer, 0, total)
    let o = 0
    for (const c of chunks) { bytes.set(c, o); o += c.length }
    let w = workers[0]
    for (const x of workers) if (x.inFlight < w.inFlight) w = x
    const s = seq++
    return new Promise<ChunkId[]>((resolve, reject) => {
      const onAbort = (): void => { pending.delete(s); reject(signal?.reason) }
      signal?.addEventListener('abort', onAbort, { once: true })
      pending.set(s, {
        resolve: (ids) => { signal?.removeEventListener('abort', onAbort); resolve(ids) },
        reject: (err) => { signal?.removeEventListener('abort', onAbort); reject(err) },
        worker: w
      })
      if (w.inFlight++ === 0) w.worker.ref()
      w.worker.postMessage({ seq: s, buffer, lengths }, [buffer])
    })
  }

  async function close (): Promise<void> {
    if (closed) return
    closed = true
    // Node 24: terminating a worker that was ever unref'd does not keep the event loop
    // alive until its 'exit' (ref() again does not help), so an awaited close() could be
    // dropped at exit with the caller's code never resumed. Hold the loop open meanwhile.
    const keepAlive = setInterval(() => {}, 60_000)
    try {
      await Promise.all(workers.map(async (w) => {
        w.worker.removeAllListeners('exit')
        fail(w, new Error('hash pool closed'))
        await w.worker.terminate()
      }))
    } finally {
      clearInterval(keepAlive)
    }
  }

  return { hash, close }
}
