/**
 * The origin as the puller uses it: rate-capped (the policy's or the caller's cap), its
 * access refreshed by every announce answer, wire bytes counted per reason; chunk-list
 * parts retried with a back-off (they have no other source); and, once the version's delta
 * index is loaded, a chunk sent to the origin comes as a delta against chunks this disk
 * holds when the index has one (deltas.ts), else whole.
 */
import type { AnnounceAnswer, DeltaIndex, Manifest, OriginAccess } from '../../protocol/index.ts'
import type { OriginReason } from '../scheduler.ts'
import { fetchChunkFromOrigin, fetchDeltaFromOrigin, fetchDeltaIndex } from '../origin/index.ts'
import { createTokenBucket } from '../peer/index.ts'
import type { TokenBucket } from '../peer/index.ts'
import { LIST_PART_ORIGIN_ATTEMPTS, ORIGIN_BACKOFF_MAX_MS, ORIGIN_BACKOFF_MIN_MS } from '../constants.ts'
import { isBranchcastError, manifestDigest } from '../../protocol/index.ts'
import type { DeltaFetcher } from './deltas.ts'
import type { PullComponents, PullOptions } from './index.ts'
import type { WireCounts } from './wire-counts.ts'

export async function waitMs (ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve() }, ms)
    const onAbort = (): void => { clearTimeout(t); reject(signal!.reason) }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

export interface OriginFetcher {
  setAccess: (a: OriginAccess) => void
  /** one verified chunk: from its delta when one is set and usable, else whole */
  chunk: (id: string, length: number, reason: OriginReason, signal?: AbortSignal) => Promise<Uint8Array>
  listPart: (id: string, signal?: AbortSignal) => Promise<Uint8Array>
  listDecodedBytes: () => number
  /**
   * The version's verified delta index, or undefined: none on the origin (404), or one that
   * does not verify or cannot be fetched (logged; the pull fetches whole chunks).
   * Its bytes are booked as `chunk-list` origin bytes: it is the list's companion.
   */
  deltaIndex: (root: Uint8Array, signal?: AbortSignal) => Promise<DeltaIndex | undefined>
  /** from now on, chunks are tried as deltas through `d` */
  useDeltas: (d: DeltaFetcher) => void
}

export function createOriginFetcher (c: PullComponents, options: PullOptions, first: Pick<AnnounceAnswer, 'origin' | 'limits'>, manifest: Manifest, wire: WireCounts): OriginFetcher {
  const log = c.logger.forComponent('node:pull')
  let listBytes = 0
  let access = first.origin
  let deltas: DeltaFetcher | undefined
  const rate = options.originRateBytesPerSec ?? first.limits.originRateBytesPerSec ?? undefined
  const bucket: TokenBucket | undefined = rate === undefined ? undefined : createTokenBucket({ rateBytesPerSec: rate, burstBytes: Math.max(256 * 1024, rate / 4), nowMs: c.now() })
  const counter = (reason: OriginReason) => (n: number): void => { wire.origin += n; wire.originByReason[reason] += n }

  const whole = async (id: string, length: number, reason: OriginReason, signal?: AbortSignal): Promise<Uint8Array> => {
    if (bucket !== undefined) await waitMs(bucket.reserve(length, c.now()), signal)
    return await fetchChunkFromOrigin(access, id, { signal, maxBytes: manifest.chunking.maxBytes, onWireBytes: counter(reason) })
  }
  const chunk = async (id: string, length: number, reason: OriginReason, signal?: AbortSignal): Promise<Uint8Array> => {
    if (deltas !== undefined) {
      const d = deltas
      const rebuilt = await d.tryDelta(id, async (entry) => {
        if (bucket !== undefined) await waitMs(bucket.reserve(entry.deltaBytes, c.now()), signal)
        const count = counter(reason)
        return await fetchDeltaFromOrigin(access, entry, { signal, onWireBytes: (n) => { count(n); d.counts.wireBytes += n } })
      }, signal)
      if (rebuilt !== undefined) return rebuilt
    }
    return await whole(id, length, reason, signal)
  }
  // The chunk list has no other source than the origin: a 503 or a reset there must not
  // fail the whole pull, so its parts are retried with a doubling back-off.
  const listPart = async (id: string, signal?: AbortSignal): Promise<Uint8Array> => {
    for (let attempt = 1; ; attempt++) {
      try {
        const bytes = await whole(id, 0, 'chunk-list', signal)
        listBytes += bytes.length
        return bytes
      } catch (err) {
        if (signal?.aborted === true || options.signal?.aborted === true || attempt >= LIST_PART_ORIGIN_ATTEMPTS) throw err
        log.debug('chunk list part fetch failed, retrying', { err, attempt })
        await waitMs(Math.min(ORIGIN_BACKOFF_MAX_MS, ORIGIN_BACKOFF_MIN_MS * 2 ** (attempt - 1)), options.signal)
      }
    }
  }
  const deltaIndex = async (root: Uint8Array, signal?: AbortSignal): Promise<DeltaIndex | undefined> => {
    try {
      const r = await fetchDeltaIndex(access, manifestDigest(root), { publicKey: c.trust.repositoryKey, signal, onWireBytes: counter('chunk-list') })
      return r?.index
    } catch (err) {
      if (signal?.aborted === true) throw signal.reason
      const code = isBranchcastError(err) ? err.code : undefined
      log.warn(code?.startsWith('ERR_DELTA_INDEX_') === true ? 'delta index refused: fetching whole chunks' : 'delta index not fetched: fetching whole chunks', { image: manifest.image, version: manifest.version, err })
      return undefined
    }
  }
  return { setAccess: (a) => { access = a }, chunk, listPart, listDecodedBytes: () => listBytes, deltaIndex, useDeltas: (d) => { deltas = d } }
}
