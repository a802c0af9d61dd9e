/**
 * Errors the tracker's routes raise, each with an HTTP status and a stable code; every
 * other error is mapped in one place (`toHttpError`) for the app's `onError`.
 */
import { HTTPException } from 'hono/http-exception'
import { BranchcastError } from '../protocol/index.ts'

export type TrackerErrorCode =
  | 'ERR_UNAUTHENTICATED'
  | 'ERR_FORBIDDEN'
  | 'ERR_NOT_FOUND'
  | 'ERR_BAD_REQUEST'
  | 'ERR_CONFLICT'
  | 'ERR_PAYLOAD_TOO_LARGE'
  | 'ERR_RATE_LIMITED'
  | 'ERR_RANGE_NOT_SATISFIABLE'
  | 'ERR_UNAVAILABLE'
  | 'ERR_INTERNAL'

export class HttpError extends Error {
  readonly status: number
  readonly code: TrackerErrorCode | string
  readonly headers: Record<string, string>

  constructor (status: number, code: TrackerErrorCode | string, message: string, options: { cause?: unknown, headers?: Record<string, string> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'HttpError'
    this.status = status
    this.code = code
    this.headers = options.headers ?? {}
  }
}

export const unauthenticated = (message = 'authentication required'): HttpError =>
  new HttpError(401, 'ERR_UNAUTHENTICATED', message, { headers: { 'www-authenticate': 'Bearer realm="branchcast"' } })
export const forbidden = (message = 'not allowed'): HttpError => new HttpError(403, 'ERR_FORBIDDEN', message)
export const notFound = (message = 'not found'): HttpError => new HttpError(404, 'ERR_NOT_FOUND', message)
export const badRequest = (message: string): HttpError => new HttpError(400, 'ERR_BAD_REQUEST', message)
export const conflict = (message: string): HttpError => new HttpError(409, 'ERR_CONFLICT', message)
// The client may still be sending the body we refuse: close the connection, or its next
// request on the same socket would be read out of the rest of this body.
export const payloadTooLarge = (message: string): HttpError => new HttpError(413, 'ERR_PAYLOAD_TOO_LARGE', message, { headers: { connection: 'close' } })
export const rateLimited = (retryAfterSeconds: number): HttpError =>
  new HttpError(429, 'ERR_RATE_LIMITED', 'too many requests', { headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) } })

const PROTOCOL_STATUS: Record<string, number> = {
  ERR_CHUNK_NOT_FOUND: 404,
  ERR_CHUNK_CORRUPT: 422,
  ERR_CHUNK_TOO_LARGE: 413,
  ERR_MANIFEST_MALFORMED: 400,
  ERR_TOKEN_MALFORMED: 401,
  ERR_TOKEN_INVALID: 401,
  ERR_TOKEN_EXPIRED: 401,
  ERR_DISK_FULL: 507,
  ERR_STORE_WRITE: 500
}

/** One mapping from anything thrown to an HTTP error; unknown errors become a bare 500. */
export function toHttpError (err: unknown): HttpError {
  if (err instanceof HttpError) return err
  // hono's own validators throw these (malformed JSON body → 400): the client's mistake, not a 500.
  if (err instanceof HTTPException && err.status < 500) {
    return new HttpError(err.status, err.status === 413 ? 'ERR_PAYLOAD_TOO_LARGE' : 'ERR_BAD_REQUEST', err.message === '' ? 'bad request' : err.message, { cause: err })
  }
  if (err instanceof BranchcastError) {
    const status = PROTOCOL_STATUS[err.code] ?? 400
    return new HttpError(status, err.code, err.message, { cause: err })
  }
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code === 'string' && code.startsWith('ERR_STORE_')) {
    if (code === 'ERR_STORE_NOT_FOUND') return new HttpError(404, 'ERR_NOT_FOUND', (err as Error).message, { cause: err })
    // a name taken, a state that forbids the transition, a stale version, a row in use
    if (code !== 'ERR_STORE_URL') return new HttpError(409, code === 'ERR_STORE_CONFLICT' ? 'ERR_CONFLICT' : code, (err as Error).message, { cause: err })
  }
  return new HttpError(500, 'ERR_INTERNAL', 'internal error', { cause: err })
}
