/**
 * Bundle failures, with stable codes. A bundle is input from a USB stick or a share: a
 * malformed or truncated one is refused whole before anything is written; a tampered
 * chunk inside a well-formed one is refused alone (counted in the import report).
 */
export type BundleErrorCode =
  | 'ERR_BUNDLE_MALFORMED'
  | 'ERR_BUNDLE_TRUNCATED'
  | 'ERR_BUNDLE_EXISTS'
  | 'ERR_BUNDLE_NOT_HELD'
  | 'ERR_BUNDLE_LIST_MISMATCH'

export class BundleError extends Error {
  readonly code: BundleErrorCode
  constructor (code: BundleErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'BundleError'
    this.code = code
  }
}
