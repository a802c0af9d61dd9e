/**
 * Store errors with stable codes. Every one is the database's answer to a well-formed
 * request (a name taken, a row gone, a state that forbids the transition), so routes map
 * them to 409 / 404 / 409 / 409 in their `onError`. Caller mistakes (a negative size, a
 * malformed chunk id) throw `TypeError` instead.
 */

export type StoreErrorCode =
  /** a unique constraint: image name, version number, policy name, token hash, assignment */
  | 'ERR_STORE_CONFLICT'
  /** the row the call names does not exist */
  | 'ERR_STORE_NOT_FOUND'
  /** the row exists but its state forbids the transition (publish a retired version, …) */
  | 'ERR_STORE_INVALID_STATE'
  /** publishing a version lower than one already published: clients would refuse it */
  | 'ERR_STORE_STALE_VERSION'
  /** the row is still referenced (delete an image with live versions) */
  | 'ERR_STORE_IN_USE'
  /** `openStore` got a URL it does not understand */
  | 'ERR_STORE_URL'
  /** a new client id for a user who already has the most clients allowed */
  | 'ERR_STORE_CLIENT_LIMIT'

export class StoreError extends Error {
  readonly code: StoreErrorCode
  /** Store failures are never a remote peer's fault. */
  readonly peerFault = false

  constructor (code: StoreErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'StoreError'
    this.code = code
  }
}

export function isStoreError (err: unknown, code?: StoreErrorCode): err is StoreError {
  return err instanceof StoreError && (code === undefined || err.code === code)
}
