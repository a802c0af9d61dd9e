/**
 * Fetching a version's boot profile from an origin (built-in or static: the same relative
 * path, `boot-profiles/<2 hex>/<manifest digest>`, and the same credentials as a chunk),
 * read with a byte cap and verified against the pinned repository key and the digest of
 * the manifest the node verified. No profile (404) is `undefined`, not an error.
 */
import { MAX_BOOT_PROFILE_BYTES, OriginStatusError, OriginTransferError, bootProfilePath, verifyBootProfile } from '../../protocol/index.ts'
import type { BootProfile } from '../../protocol/index.ts'
import type { KeyObject } from 'node:crypto'
import type { OriginEndpoint } from './origin-client.ts'

export interface FetchBootProfileOptions {
  /** the pinned repository key */
  publicKey: KeyObject
  /** digest of the verified manifest root */
  manifestDigest: string
  signal?: AbortSignal
}

/**
 * The verified profile, or undefined when the origin has none (404). Rejects with
 * `OriginStatusError` / `OriginTransferError` for a failed fetch, `ERR_BOOT_PROFILE_*`
 * for one that is too large, malformed, signed by another key or for another manifest.
 */
export async function fetchBootProfile (endpoint: OriginEndpoint, opts: FetchBootProfileOptions): Promise<BootProfile | undefined> {
  const base = endpoint.originUrl.endsWith('/') ? endpoint.originUrl : `${endpoint.originUrl}/`
  const url = new URL(bootProfilePath(opts.manifestDigest), base)
  for (const [k, v] of Object.entries(endpoint.query ?? {})) url.searchParams.set(k, v)
  const headers: Record<string, string> = {}
  if (endpoint.query === undefined && endpoint.token !== undefined) headers.authorization = `Bearer ${endpoint.token}`
  let res: Response
  try {
    res = await fetch(url, { headers, signal: opts.signal, redirect: 'error' })
  } catch (err) {
    if (opts.signal?.aborted === true) throw opts.signal.reason
    throw new OriginTransferError(`cannot reach origin ${url.origin}: ${(err as Error).message}`, { cause: err })
  }
  if (res.status === 404) { await res.body?.cancel().catch(() => {}); return undefined }
  if (res.status !== 200 || res.body === null) {
    await res.body?.cancel().catch(() => {})
    throw new OriginStatusError(res.status, `origin answered HTTP ${res.status} for the boot profile`)
  }
  const parts: Uint8Array[] = []
  let total = 0
  const reader = res.body.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      total += value.byteLength
      // one byte over the cap is enough for verifyBootProfile to refuse it: stop reading there
      if (total > MAX_BOOT_PROFILE_BYTES) { parts.push(value); break }
      parts.push(value)
    }
  } finally {
    reader.cancel().catch(() => {})
    reader.releaseLock()
  }
  return verifyBootProfile(Buffer.concat(parts), { publicKey: opts.publicKey, manifestDigest: opts.manifestDigest })
}
