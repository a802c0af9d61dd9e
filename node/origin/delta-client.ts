/**
 * Delta chunks from an HTTP origin (docs/deltas.md): a version's signed delta index and the
 * delta files it names, under the same URL scheme and credentials as chunks
 * (`delta-indexes/<2 hex>/<manifest digest>`, `deltas/<2 hex>/<target>-<key>`).
 *
 * The origin is not trusted: the index is read capped at `MAX_DELTA_INDEX_BYTES` and
 * verified against the pinned repository key and the manifest the node verified; a delta
 * is read capped at the size its index entry gives, and any other length is refused. The
 * chunk a delta rebuilds is verified against its id by `applyDelta` (the caller's step).
 */
import { ChunkTooLargeError, DeltaMalformedError, MAX_DELTA_INDEX_BYTES, deltaIndexPath, deltaPath, verifyDeltaIndex } from '../../protocol/index.ts'
import type { DeltaIndex, DeltaIndexEntry } from '../../protocol/index.ts'
import type { KeyObject } from 'node:crypto'
import { fetchOriginFile } from './origin-client.ts'
import type { FetchChunkOptions, OriginEndpoint } from './origin-client.ts'

export type FetchDeltaOptions = Pick<FetchChunkOptions, 'signal' | 'fetch' | 'onWireBytes'>

/**
 * The verified delta index of the manifest whose digest is `manifestDigest`, or undefined
 * when the origin has none (404: no deltas for this version, or not computed yet). Rejects
 * with `ERR_DELTA_INDEX_MALFORMED` / `ERR_DELTA_INDEX_TAMPERED` for a bad index, and with
 * the origin errors of `fetchOriginFile`.
 */
export async function fetchDeltaIndex (endpoint: OriginEndpoint, manifestDigest: string, options: FetchDeltaOptions & { publicKey: KeyObject }): Promise<{ index: DeltaIndex, bytes: number } | undefined> {
  const body = await fetchOriginFile(endpoint, deltaIndexPath(manifestDigest), {
    ...options, maxBytes: MAX_DELTA_INDEX_BYTES, what: `the delta index of manifest ${manifestDigest}`, notFoundOk: true
  })
  if (body === undefined) return undefined
  return { index: verifyDeltaIndex(body, { publicKey: options.publicKey, manifestDigest }), bytes: body.byteLength }
}

/**
 * The bytes of the delta an index entry names, exactly `entry.deltaBytes` of them (a longer
 * or shorter body is `ERR_DELTA_MALFORMED`: the origin's fault). Not yet applied.
 */
export async function fetchDeltaFromOrigin (endpoint: OriginEndpoint, entry: DeltaIndexEntry, options: FetchDeltaOptions = {}): Promise<Uint8Array> {
  const what = `the delta of chunk ${entry.target}`
  let body: Uint8Array
  try {
    body = await fetchOriginFile(endpoint, deltaPath(entry.target, entry.bases), { ...options, maxBytes: entry.deltaBytes, what }) as Uint8Array
  } catch (err) {
    if (err instanceof ChunkTooLargeError) throw new DeltaMalformedError(`origin sent more than the ${entry.deltaBytes} bytes the index gives for ${what}`, { cause: err })
    throw err
  }
  if (body.byteLength !== entry.deltaBytes) throw new DeltaMalformedError(`origin sent ${body.byteLength} bytes for ${what}, the index gives ${entry.deltaBytes}`)
  return body
}
