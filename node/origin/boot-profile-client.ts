/**
 * Fetching a version's boot profile from an origin (built-in or static: the same relative
 * path, `boot-profiles/<2 hex>/<manifest digest>`, and the same credentials as a chunk),
 * read with a byte cap and verified against the pinned repository key and the digest of
 * the manifest the node verified. No profile (404) is `undefined`, not an error.
 */
import { MAX_BOOT_PROFILE_BYTES, bootProfilePath, verifyBootProfile } from '../../protocol/index.ts'
import type { BootProfile } from '../../protocol/index.ts'
import type { KeyObject } from 'node:crypto'
import { fetchOriginFile } from './origin-client.ts'
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
 * `OriginStatusError` / `OriginTransferError` for a failed fetch, `ChunkTooLargeError` for
 * a body over `MAX_BOOT_PROFILE_BYTES`, `ERR_BOOT_PROFILE_*` for one that is malformed,
 * signed by another key or for another manifest (the same fetch as chunks and deltas).
 */
export async function fetchBootProfile (endpoint: OriginEndpoint, opts: FetchBootProfileOptions): Promise<BootProfile | undefined> {
  const bytes = await fetchOriginFile(endpoint, bootProfilePath(opts.manifestDigest), { maxBytes: MAX_BOOT_PROFILE_BYTES, what: 'the boot profile', notFoundOk: true, signal: opts.signal })
  return bytes === undefined ? undefined : verifyBootProfile(bytes, { publicKey: opts.publicKey, manifestDigest: opts.manifestDigest })
}
