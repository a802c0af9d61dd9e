/**
 * Fetching one chunk from an HTTP origin — the tracker's built-in origin or a plain static
 * server (nginx, IIS) serving a chunk store's directory — and verifying it.
 *
 * Both kinds of origin serve the same relative URL for a chunk, its chunk-store path
 * (`chunks/<2 hex>/<64 hex>`, see `chunkPath`), under the `originUrl` the tracker hands
 * out. The tracker also says how to prove the right to fetch:
 *
 * - the built-in origin takes the origin capability token as `Authorization: Bearer …`;
 * - a static origin takes signed-URL query parameters (`query`), the same for every
 *   chunk of the image until they expire.
 *
 * The origin is not trusted: the body is read with a byte cap and must decode to bytes
 * whose SHA-256 is the chunk id (`decodeStoredChunk`), or the fetch fails with a typed
 * error (`ChunkCorruptError`, `ChunkTooLargeError`, `OriginStatusError`,
 * `OriginTransferError`). Abort through `signal` rejects with the signal's reason.
 */
import { ChunkTooLargeError, MAX_CHUNK_BYTES_CEILING, OriginStatusError, OriginTransferError, chunkPath, decodeStoredChunk, isChunkId } from '../../protocol/index.ts'
import type { ChunkId, OriginAccess } from '../../protocol/index.ts'

/** The part of an `OriginAccess` a fetch needs. */
export type OriginEndpoint = Pick<OriginAccess, 'originUrl'> & Partial<Pick<OriginAccess, 'token' | 'query'>>

export interface FetchChunkOptions {
  signal?: AbortSignal
  /**
   * Largest chunk accepted, in bytes (default `MAX_CHUNK_BYTES_CEILING`). A stored file is
   * never larger than its chunk (zstd is kept only when smaller), so it caps the body too.
   */
  maxBytes?: number
  /** the fetch implementation (default the global `fetch`) */
  fetch?: typeof fetch
  /**
   * Told the body bytes as they came off the connection (the stored form: compressed where
   * the origin stores it so), before any decoding — also for a body that is then refused.
   */
  onWireBytes?: (bytes: number) => void
}

/** The URL of a chunk on an origin, with the signed-URL query when there is one. */
export function originChunkUrl (endpoint: OriginEndpoint, id: ChunkId): URL {
  if (!isChunkId(id)) throw new TypeError('not a chunk id')
  return originFileUrl(endpoint, chunkPath(id))
}

async function readCapped (body: ReadableStream<Uint8Array>, maxBytes: number, what: string, onWireBytes?: (bytes: number) => void): Promise<Uint8Array> {
  const reader = body.getReader()
  const parts: Uint8Array[] = []
  let total = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      total += value.byteLength
      onWireBytes?.(value.byteLength)
      if (total > maxBytes) throw new ChunkTooLargeError(`origin sent more than ${maxBytes} bytes for ${what}`)
      parts.push(value)
    }
  } finally {
    // stops the download early on the cap (or an abort); a no-op after a clean end
    reader.cancel().catch(() => {})
    reader.releaseLock()
  }
  if (parts.length === 1) return parts[0]!
  const out = new Uint8Array(total)
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.byteLength }
  return out
}

/** The URL of any store-relative path (`chunks/…`, `deltas/…`, `delta-indexes/…`) on an origin. */
export function originFileUrl (endpoint: OriginEndpoint, relPath: string): URL {
  const base = endpoint.originUrl.endsWith('/') ? endpoint.originUrl : `${endpoint.originUrl}/`
  const url = new URL(relPath, base)
  for (const [k, v] of Object.entries(endpoint.query ?? {})) url.searchParams.set(k, v)
  return url
}

export interface FetchFileOptions extends Pick<FetchChunkOptions, 'signal' | 'fetch' | 'onWireBytes'> {
  /** largest body accepted; more is `ChunkTooLargeError` */
  maxBytes: number
  /** what the file is, for error messages */
  what: string
  /** resolve to undefined on a 404 instead of rejecting */
  notFoundOk?: boolean
}

/**
 * The raw body of a store file on an origin, read with a byte cap. The same credentials as
 * a chunk (bearer token, or the signed-URL query for a static origin). Rejects as
 * `fetchChunkFromOrigin` does, before any decoding.
 */
export async function fetchOriginFile (endpoint: OriginEndpoint, relPath: string, options: FetchFileOptions): Promise<Uint8Array | undefined> {
  const { maxBytes, what, signal } = options
  const url = originFileUrl(endpoint, relPath)
  const headers: Record<string, string> = { accept: 'application/octet-stream' }
  // A signed URL is the whole credential for a static origin: the token stays with us.
  if (endpoint.query === undefined && endpoint.token !== undefined) headers.authorization = `Bearer ${endpoint.token}`
  const doFetch = options.fetch ?? fetch

  let res: Response
  try {
    res = await doFetch(url, { headers, signal, redirect: 'error' })
  } catch (err) {
    if (signal?.aborted === true) throw signal.reason
    throw new OriginTransferError(`cannot reach origin ${url.origin}: ${(err as Error).message}`, { cause: err })
  }
  if (res.status === 404 && options.notFoundOk === true) {
    await res.body?.cancel().catch(() => {})
    return undefined
  }
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => {})
    throw new OriginStatusError(res.status, `origin answered HTTP ${res.status} for ${what}`)
  }
  const declared = res.headers.get('content-length')
  if (declared !== null && Number(declared) > maxBytes) {
    await res.body?.cancel().catch(() => {})
    throw new ChunkTooLargeError(`origin declares ${declared} bytes for ${what}, more than ${maxBytes}`)
  }
  if (res.body === null) throw new OriginTransferError(`origin sent no body for ${what}`)

  let body: Uint8Array
  try {
    body = await readCapped(res.body, maxBytes, what, options.onWireBytes)
  } catch (err) {
    if (err instanceof ChunkTooLargeError) throw err
    if (signal?.aborted === true) throw signal.reason
    throw new OriginTransferError(`reading ${what} from origin failed: ${(err as Error).message}`, { cause: err })
  }
  if (declared !== null && body.byteLength !== Number(declared)) {
    throw new OriginTransferError(`origin sent ${body.byteLength} of ${declared} declared bytes for ${what}`)
  }
  return body
}

/**
 * The verified bytes of chunk `id` from an origin. Rejects with:
 * `OriginStatusError` (any answer but 200, `.status` says which), `OriginTransferError`
 * (connection failed or the body was cut short), `ChunkTooLargeError` (more than
 * `maxBytes`), `ChunkCorruptError` (the bytes do not hash to `id`); `TypeError` for a
 * malformed id or options.
 */
export async function fetchChunkFromOrigin (endpoint: OriginEndpoint, id: ChunkId, options: FetchChunkOptions = {}): Promise<Uint8Array> {
  const maxBytes = options.maxBytes ?? MAX_CHUNK_BYTES_CEILING
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1 || maxBytes > MAX_CHUNK_BYTES_CEILING) throw new TypeError(`maxBytes must be an integer in 1..${MAX_CHUNK_BYTES_CEILING}`)
  if (!isChunkId(id)) throw new TypeError('not a chunk id')
  const stored = await fetchOriginFile(endpoint, chunkPath(id), { ...options, maxBytes, what: `chunk ${id}` }) as Uint8Array
  return decodeStoredChunk(id, stored, { maxBytes })
}
