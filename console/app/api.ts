/**
 * Calls to the tracker's API with the session cookie. Every write carries the CSRF header
 * the tracker requires of cookie-authenticated writes; error answers become `ApiError`s
 * with the tracker's code and message, shown to the admin as they are.
 */
// the same error class the node's and the CLI's API client throw
import { ApiError } from '../../protocol/api/client.ts'

/** The header every cookie-authenticated write must carry (`tracker/auth.ts`). */
export const CSRF_HEADER = 'x-branchcast-csrf'
export const API = '/api/v1'

export { ApiError }

async function errorOf (res: Response): Promise<ApiError> {
  try {
    const body = await res.json() as { error?: { code?: string, message?: string } }
    return new ApiError(res.status, body.error?.code ?? `HTTP_${res.status}`, body.error?.message ?? res.statusText)
  } catch {
    return new ApiError(res.status, `HTTP_${res.status}`, res.statusText)
  }
}

export async function api<T> (method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (method !== 'GET') headers[CSRF_HEADER] = '1'
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`${API}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin', signal })
  if (res.status === 401) { location.assign('/console/login'); throw new ApiError(401, 'ERR_UNAUTHENTICATED', 'signed out: signing in again') }
  if (!res.ok) throw await errorOf(res)
  return await res.json() as T
}

export function query (params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v))
  const s = q.toString()
  return s === '' ? '' : `?${s}`
}

export interface UploadProgress { sentBytes: number, totalBytes: number }

/**
 * Streams a file to the tracker as the request body. XMLHttpRequest, not fetch: it reads
 * the file from disk as it sends (nothing held in memory, whatever the size) and reports
 * upload progress, which fetch cannot over HTTP/1.1.
 */
export function uploadFile (path: string, file: Blob, onProgress: (p: UploadProgress) => void, signal?: AbortSignal): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('POST', `${API}${path}`)
    xhr.setRequestHeader('content-type', 'application/octet-stream')
    xhr.setRequestHeader(CSRF_HEADER, '1')
    xhr.upload.onprogress = (e) => onProgress({ sentBytes: e.loaded, totalBytes: e.lengthComputable ? e.total : file.size })
    xhr.onerror = () => reject(new ApiError(0, 'ERR_NETWORK', 'the upload was cut off'))
    xhr.onabort = () => reject(new ApiError(0, 'ERR_ABORTED', 'upload cancelled'))
    xhr.onload = () => {
      let body: { error?: { code?: string, message?: string } } | undefined
      try { body = JSON.parse(xhr.responseText) } catch {}
      if (xhr.status >= 200 && xhr.status < 300) resolve(body)
      else reject(new ApiError(xhr.status, body?.error?.code ?? `HTTP_${xhr.status}`, body?.error?.message ?? xhr.statusText))
    }
    signal?.addEventListener('abort', () => xhr.abort(), { once: true })
    xhr.send(file)
  })
}
