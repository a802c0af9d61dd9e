/**
 * Anything thrown while answering → one HTTP answer: status, stable code, message and
 * the headers that status needs. The one place codes meet statuses; the app's `onError`
 * calls it and nothing else in the tracker knows about HTTP statuses for errors.
 */
import { HTTPException } from 'hono/http-exception'
import { BranchcastError } from '../../protocol/index.ts'
import { TrackerError } from '../errors.ts'
import type { TrackerErrorCode } from '../errors.ts'

export interface HttpErrorAnswer {
  status: number
  code: string
  message: string
  headers: Record<string, string>
}

const TRACKER_STATUS: Record<TrackerErrorCode, number> = {
  ERR_UNAUTHENTICATED: 401,
  ERR_TOKEN_EXPIRED: 401,
  ERR_TOKEN_NOT_YET_VALID: 401,
  ERR_TOKEN_AUDIENCE: 401,
  ERR_TOKEN_ISSUER: 401,
  ERR_TOKEN_ALG: 401,
  ERR_TOKEN_SIGNATURE: 401,
  ERR_TOKEN_MALFORMED: 401,
  ERR_TOKEN_CLAIMS: 401,
  ERR_FORBIDDEN: 403,
  ERR_NOT_FOUND: 404,
  ERR_BAD_REQUEST: 400,
  ERR_CONFLICT: 409,
  ERR_VERSION_NOT_PUBLISHED: 409,
  ERR_PAYLOAD_TOO_LARGE: 413,
  ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  ERR_UPLOAD_IDLE: 408,
  ERR_UPLOAD_TOO_SLOW: 408,
  ERR_RATE_LIMITED: 429,
  ERR_RANGE_NOT_SATISFIABLE: 416,
  ERR_UNAVAILABLE: 503,
  ERR_INTERNAL: 500
}

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

function headersFor (code: string, err: unknown): Record<string, string> {
  // RFC 6750: a refused bearer token is `invalid_token`
  if (code.startsWith('ERR_TOKEN_') && err instanceof TrackerError) return { 'www-authenticate': 'Bearer realm="branchcast", error="invalid_token"' }
  switch (code) {
    case 'ERR_UNAUTHENTICATED': return { 'www-authenticate': 'Bearer realm="branchcast"' }
    // The client may still be sending the body we refuse: close the connection, or its
    // next request on the same socket would be read out of the rest of this body.
    case 'ERR_PAYLOAD_TOO_LARGE': return { connection: 'close' }
    case 'ERR_RATE_LIMITED': {
      const after = err instanceof TrackerError ? err.retryAfterSeconds ?? 1 : 1
      return { 'retry-after': String(Math.max(1, Math.ceil(after))) }
    }
    default: return {}
  }
}

function answer (status: number, code: string, message: string, cause: unknown): HttpErrorAnswer {
  return { status, code, message, headers: headersFor(code, cause) }
}

/** One mapping from anything thrown to an HTTP answer; unknown errors become a bare 500. */
export function toHttpError (err: unknown): HttpErrorAnswer {
  if (err instanceof TrackerError) {
    return answer(TRACKER_STATUS[err.code], err.code, err.code === 'ERR_INTERNAL' ? 'internal error' : err.message, err)
  }
  // hono's own validators throw these (malformed JSON body → 400): the client's mistake, not a 500.
  if (err instanceof HTTPException && err.status < 500) {
    return answer(err.status, err.status === 413 ? 'ERR_PAYLOAD_TOO_LARGE' : 'ERR_BAD_REQUEST', err.message === '' ? 'bad request' : err.message, err)
  }
  if (err instanceof BranchcastError) {
    return answer(PROTOCOL_STATUS[err.code] ?? 400, err.code, err.message, err)
  }
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code === 'string' && code.startsWith('ERR_STORE_')) {
    if (code === 'ERR_STORE_NOT_FOUND') return answer(404, 'ERR_NOT_FOUND', (err as Error).message, err)
    // a name taken, a state that forbids the transition, a stale version, a row in use
    if (code !== 'ERR_STORE_URL') return answer(409, code === 'ERR_STORE_CONFLICT' ? 'ERR_CONFLICT' : code, (err as Error).message, err)
  }
  return answer(500, 'ERR_INTERNAL', 'internal error', err)
}
