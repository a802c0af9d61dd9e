/**
 * The tracker's domain errors: a stable code and a message, no HTTP. Services, the
 * repository and middleware throw these; the app's one `onError` maps each code to a
 * status (`routes/http-error.ts`). Store errors (`db/errors.ts`) and protocol errors
 * (`BranchcastError`) are mapped there too.
 */

export type TrackerErrorCode =
  | 'ERR_UNAUTHENTICATED'
  | 'ERR_FORBIDDEN'
  | 'ERR_NOT_FOUND'
  | 'ERR_BAD_REQUEST'
  | 'ERR_CONFLICT'
  /** a version that is a draft or retired where a published one is needed */
  | 'ERR_VERSION_NOT_PUBLISHED'
  | 'ERR_PAYLOAD_TOO_LARGE'
  | 'ERR_UNSUPPORTED_MEDIA_TYPE'
  /** an upload that stopped sending bytes */
  | 'ERR_UPLOAD_IDLE'
  /** an upload sending too slowly to finish in reasonable time (it holds back GC) */
  | 'ERR_UPLOAD_TOO_SLOW'
  | 'ERR_RATE_LIMITED'
  | 'ERR_RANGE_NOT_SATISFIABLE'
  /** OpenID Connect access tokens, each refusal its own code (401) */
  | 'ERR_TOKEN_EXPIRED'
  | 'ERR_TOKEN_NOT_YET_VALID'
  | 'ERR_TOKEN_AUDIENCE'
  | 'ERR_TOKEN_ISSUER'
  | 'ERR_TOKEN_ALG'
  | 'ERR_TOKEN_SIGNATURE'
  | 'ERR_TOKEN_MALFORMED'
  | 'ERR_TOKEN_CLAIMS'
  /** shutting down, or a lease lost: retry */
  | 'ERR_UNAVAILABLE'
  | 'ERR_INTERNAL'

export interface TrackerErrorOptions {
  cause?: unknown
  /** for ERR_RATE_LIMITED: when the caller may try again */
  retryAfterSeconds?: number
}

export class TrackerError extends Error {
  readonly code: TrackerErrorCode
  readonly retryAfterSeconds: number | undefined
  /** The tracker's own answers are never a remote peer's fault. */
  readonly peerFault = false

  constructor (code: TrackerErrorCode, message: string, options: TrackerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'TrackerError'
    this.code = code
    this.retryAfterSeconds = options.retryAfterSeconds
  }
}

export function isTrackerError (err: unknown, code?: TrackerErrorCode): err is TrackerError {
  return err instanceof TrackerError && (code === undefined || err.code === code)
}

/** An access token refused: one code per reason, all answered 401. */
export type TokenErrorCode = Extract<TrackerErrorCode, `ERR_TOKEN_${string}`>
export const tokenRefused = (code: TokenErrorCode, message: string, cause?: unknown): TrackerError => new TrackerError(code, message, { cause })
export const unauthenticated = (message = 'authentication required'): TrackerError => new TrackerError('ERR_UNAUTHENTICATED', message)
export const forbidden = (message = 'not allowed'): TrackerError => new TrackerError('ERR_FORBIDDEN', message)
export const notFound = (message = 'not found'): TrackerError => new TrackerError('ERR_NOT_FOUND', message)
export const badRequest = (message: string): TrackerError => new TrackerError('ERR_BAD_REQUEST', message)
export const conflict = (message: string): TrackerError => new TrackerError('ERR_CONFLICT', message)
export const payloadTooLarge = (message: string): TrackerError => new TrackerError('ERR_PAYLOAD_TOO_LARGE', message)
export const unavailable = (message: string, cause?: unknown): TrackerError => new TrackerError('ERR_UNAVAILABLE', message, { cause })
export const rateLimited = (retryAfterSeconds: number): TrackerError =>
  new TrackerError('ERR_RATE_LIMITED', 'too many requests', { retryAfterSeconds })
