/**
 * The client side of the tracker's HTTP API, for the CLIs and the node: base URL and API
 * token resolved once (flag → environment), bearer auth on every call, error bodies turned
 * into `ApiError` with the server's stable code.
 */

export interface ApiClientInit {
  /** tracker base URL, e.g. http://127.0.0.1:8470 */
  baseUrl: string
  /** API token (bct_…) */
  token?: string
  fetch?: typeof fetch
}

export class ApiError extends Error {
  readonly status: number
  readonly code: string

  constructor (status: number, code: string, message: string) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
  }
}

export interface RequestOptions {
  json?: unknown
  /** a streamed or binary body (sent with `duplex: 'half'`) */
  body?: RequestInit['body'] | ReadableStream<Uint8Array>
  headers?: Record<string, string>
  query?: Record<string, string | number | boolean | undefined>
  signal?: AbortSignal
}

export interface ApiClient {
  readonly baseUrl: string
  /** The raw response of a successful (2xx) call; non-2xx throws `ApiError`. */
  request: (method: string, path: string, options?: RequestOptions) => Promise<Response>
  json: <T>(method: string, path: string, options?: RequestOptions) => Promise<T>
}

export function createApiClient (init: ApiClientInit): ApiClient {
  const baseUrl = init.baseUrl.replace(/\/+$/, '')
  try { new URL(baseUrl) } catch { throw new TypeError(`not a tracker URL: ${init.baseUrl}`) }
  const doFetch = init.fetch ?? fetch
  const token = init.token

  async function request (method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const url = new URL(baseUrl + path)
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v))
    const headers: Record<string, string> = { ...options.headers }
    if (token !== undefined) headers.authorization = `Bearer ${token}`
    let body: RequestInit['body'] | ReadableStream<Uint8Array> | undefined = options.body
    if (options.json !== undefined) { headers['content-type'] = 'application/json'; body = JSON.stringify(options.json) }
    const res = await doFetch(url, { method, headers, body: body as RequestInit['body'], signal: options.signal, duplex: 'half' } as RequestInit)
    if (res.ok) return res
    let code = `HTTP_${res.status}`
    let message = res.statusText
    try {
      const parsed = await res.json() as { error?: { code?: string, message?: string } }
      code = parsed.error?.code ?? code
      message = parsed.error?.message ?? message
    } catch {}
    throw new ApiError(res.status, code, `${method} ${path}: ${res.status} ${code}: ${message}`)
  }

  return {
    baseUrl,
    request,
    async json<T> (method: string, path: string, options?: RequestOptions): Promise<T> {
      return await (await request(method, path, options)).json() as T
    }
  }
}

/** `--tracker` / `BRANCHCAST_TRACKER` and `--token` / `BRANCHCAST_TOKEN`, flags first. */
export function clientFromFlags (flags: { tracker?: string, token?: string }, env: NodeJS.ProcessEnv = process.env): ApiClient {
  const baseUrl = flags.tracker ?? env.BRANCHCAST_TRACKER ?? 'http://127.0.0.1:8470'
  const token = flags.token ?? env.BRANCHCAST_TOKEN
  if (token === undefined || token === '') throw new TypeError('no API token: pass --token or set BRANCHCAST_TOKEN')
  return createApiClient({ baseUrl, token })
}
