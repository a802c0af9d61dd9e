/**
 * Typed errors with stable codes. Callers `switch (err.code)`; hostile input throws one of
 * these, caller mistakes throw `TypeError`. `peerFault: false` marks failures that are not
 * the remote side's fault (our disk, our clock), so nobody gets banned for them.
 */

export type ErrorCode =
  | 'ERR_MANIFEST_MALFORMED'
  | 'ERR_MANIFEST_TAMPERED'
  | 'ERR_MANIFEST_WRONG_KEY'
  | 'ERR_MANIFEST_EXPIRED'
  | 'ERR_MANIFEST_ROLLBACK'
  | 'ERR_MANIFEST_WRONG_IMAGE'
  | 'ERR_MANIFEST_WRONG_VERSION'
  | 'ERR_CHUNK_NOT_FOUND'
  | 'ERR_CHUNK_CORRUPT'
  | 'ERR_CHUNK_TOO_LARGE'
  | 'ERR_DISK_FULL'
  | 'ERR_STORE_WRITE'
  | 'ERR_TOKEN_MALFORMED'
  | 'ERR_TOKEN_INVALID'
  | 'ERR_TOKEN_EXPIRED'
  | 'ERR_ORIGIN_STATUS'
  | 'ERR_ORIGIN_TRANSFER'
  | 'ERR_CHUNK_PROTOCOL'
  | 'ERR_PEER_REFUSED'
  | 'ERR_PEER_UNAVAILABLE'
  | 'ERR_DELTA_MALFORMED'
  | 'ERR_DELTA_CORRUPT'
  | 'ERR_DELTA_BASE_MISSING'
  | 'ERR_DELTA_BASE_CORRUPT'
  | 'ERR_DELTA_INDEX_MALFORMED'
  | 'ERR_DELTA_INDEX_TAMPERED'
  | 'ERR_BOOT_PROFILE_MALFORMED'
  | 'ERR_BOOT_PROFILE_TAMPERED'

export interface BranchcastErrorOptions {
  cause?: unknown
  /** false when the failure is ours, not the remote peer's or client's */
  peerFault?: boolean
}

export class BranchcastError extends Error {
  readonly code: ErrorCode
  readonly peerFault: boolean

  constructor (code: ErrorCode, message: string, options: BranchcastErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.peerFault = options.peerFault ?? true
  }
}

/** The manifest bytes do not parse, or parse to something inconsistent. */
export class ManifestMalformedError extends BranchcastError {
  constructor (message: string, options?: BranchcastErrorOptions) { super('ERR_MANIFEST_MALFORMED', message, options) }
}

/** The signature does not match the signed bytes under the pinned key. */
export class ManifestTamperedError extends BranchcastError {
  constructor (message = 'manifest signature does not verify', options?: BranchcastErrorOptions) { super('ERR_MANIFEST_TAMPERED', message, options) }
}

/** The manifest names a signing key other than the pinned repository key. */
export class ManifestWrongKeyError extends BranchcastError {
  constructor (message = 'manifest is signed by a key other than the pinned repository key', options?: BranchcastErrorOptions) { super('ERR_MANIFEST_WRONG_KEY', message, options) }
}

export class ManifestExpiredError extends BranchcastError {
  constructor (message = 'manifest has expired', options?: BranchcastErrorOptions) { super('ERR_MANIFEST_EXPIRED', message, options) }
}

/** A version lower than one already accepted: a replay of an old manifest. */
export class ManifestRollbackError extends BranchcastError {
  constructor (message = 'manifest version is lower than the last accepted one', options?: BranchcastErrorOptions) { super('ERR_MANIFEST_ROLLBACK', message, options) }
}

/** A valid manifest for another image than the one asked for (a swapped response). */
export class ManifestWrongImageError extends BranchcastError {
  constructor (message = 'manifest is for another image', options?: BranchcastErrorOptions) { super('ERR_MANIFEST_WRONG_IMAGE', message, options) }
}

/** A valid manifest for another version than the one asked for (a swapped or replayed response). */
export class ManifestWrongVersionError extends BranchcastError {
  constructor (message = 'manifest is for another version', options?: BranchcastErrorOptions) { super('ERR_MANIFEST_WRONG_VERSION', message, options) }
}

export class ChunkNotFoundError extends BranchcastError {
  constructor (message = 'chunk not found', options?: BranchcastErrorOptions) { super('ERR_CHUNK_NOT_FOUND', message, { peerFault: false, ...options }) }
}

/** Bytes whose SHA-256 is not the chunk id they were offered or stored as. */
export class ChunkCorruptError extends BranchcastError {
  constructor (message = 'chunk bytes do not match their id', options?: BranchcastErrorOptions) { super('ERR_CHUNK_CORRUPT', message, options) }
}

export class ChunkTooLargeError extends BranchcastError {
  constructor (message = 'chunk exceeds the size limit', options?: BranchcastErrorOptions) { super('ERR_CHUNK_TOO_LARGE', message, options) }
}

/** ENOSPC / EDQUOT while writing; nothing half-written is left behind. */
export class DiskFullError extends BranchcastError {
  constructor (message = 'no space left for the chunk store', options?: BranchcastErrorOptions) { super('ERR_DISK_FULL', message, { peerFault: false, ...options }) }
}

export class StoreWriteError extends BranchcastError {
  constructor (message = 'chunk store write failed', options?: BranchcastErrorOptions) { super('ERR_STORE_WRITE', message, { peerFault: false, ...options }) }
}

export class TokenMalformedError extends BranchcastError {
  constructor (message = 'token is malformed', options?: BranchcastErrorOptions) { super('ERR_TOKEN_MALFORMED', message, options) }
}

export class TokenInvalidError extends BranchcastError {
  constructor (message = 'token signature or binding is invalid', options?: BranchcastErrorOptions) { super('ERR_TOKEN_INVALID', message, options) }
}

export class TokenExpiredError extends BranchcastError {
  constructor (message = 'token has expired', options?: BranchcastErrorOptions) { super('ERR_TOKEN_EXPIRED', message, options) }
}

export function isBranchcastError (err: unknown, code?: ErrorCode): err is BranchcastError {
  return err instanceof BranchcastError && (code === undefined || err.code === code)
}

/**
 * An HTTP origin answered something other than the chunk: `status` says what (401/403/410:
 * our origin token is missing, forged or expired — ask the tracker for a new one; 404: the
 * origin lacks the chunk; 5xx: the origin is failing, try later or elsewhere).
 */
export class OriginStatusError extends BranchcastError {
  readonly status: number

  constructor (status: number, message = `origin answered HTTP ${status}`, options: BranchcastErrorOptions = {}) {
    // a refused or expired token is our side's problem, not the origin's misbehaviour
    super('ERR_ORIGIN_STATUS', message, { peerFault: status >= 500, ...options })
    this.status = status
  }
}

/** The connection to an origin failed or the body ended before its declared length. */
export class OriginTransferError extends BranchcastError {
  constructor (message = 'origin transfer failed', options?: BranchcastErrorOptions) { super('ERR_ORIGIN_TRANSFER', message, options) }
}

/** A delta chunk (protocol/delta/) whose header or frame does not parse, or names another target or bases than asked for. */
export class DeltaMalformedError extends BranchcastError {
  constructor (message = 'delta chunk is malformed', options?: BranchcastErrorOptions) { super('ERR_DELTA_MALFORMED', message, options) }
}

/** A well-formed delta that, applied to the right bases, does not give bytes hashing to its target id. */
export class DeltaCorruptError extends BranchcastError {
  constructor (message = 'delta does not reconstruct its target chunk', options?: BranchcastErrorOptions) { super('ERR_DELTA_CORRUPT', message, options) }
}

/** The caller does not hold a base the delta names: fetch the whole chunk instead. Nobody's fault. */
export class DeltaBaseMissingError extends BranchcastError {
  constructor (message = 'a base chunk of the delta is not held', options?: BranchcastErrorOptions) { super('ERR_DELTA_BASE_MISSING', message, { peerFault: false, ...options }) }
}

/** A base the caller supplied does not hash to its id (our own copy is damaged), so the delta's failure is not the sender's. */
export class DeltaBaseCorruptError extends BranchcastError {
  constructor (message = 'a base chunk held locally does not match its id', options?: BranchcastErrorOptions) { super('ERR_DELTA_BASE_CORRUPT', message, { peerFault: false, ...options }) }
}

export class DeltaIndexMalformedError extends BranchcastError {
  constructor (message = 'delta index is malformed', options?: BranchcastErrorOptions) { super('ERR_DELTA_INDEX_MALFORMED', message, options) }
}

/** The delta index is not signed by the pinned repository key, or is for another manifest. */
export class DeltaIndexTamperedError extends BranchcastError {
  constructor (message = 'delta index signature does not verify', options?: BranchcastErrorOptions) { super('ERR_DELTA_INDEX_TAMPERED', message, options) }
}

export class BootProfileMalformedError extends BranchcastError {
  constructor (message = 'boot profile is malformed', options?: BranchcastErrorOptions) { super('ERR_BOOT_PROFILE_MALFORMED', message, options) }
}

/** The boot profile is not signed by the pinned repository key under the profile context, or is for another manifest. */
export class BootProfileTamperedError extends BranchcastError {
  constructor (message = 'boot profile signature does not verify', options?: BranchcastErrorOptions) { super('ERR_BOOT_PROFILE_TAMPERED', message, options) }
}
