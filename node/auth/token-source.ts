/**
 * The node's bearer token when it logged in with `branchcast login` instead of holding an
 * API token: the stored access token while it is fresh, else one refreshed with the
 * refresh token (the rotated refresh token is stored before the new access token is used,
 * so a crash cannot lose the login). Concurrent callers share one refresh. A refresh the
 * provider refuses means the login is over: ERR_LOGIN_REQUIRED says to log in again.
 */
import * as client from 'openid-client'
import { discoverIssuer } from './device-login.ts'
import { LoginError } from './errors.ts'
import { readLoginFile, writeLoginFile } from './login-file.ts'
import type { LoginFile } from './login-file.ts'

/** Refresh this long before the access token expires: a request in flight should not carry a dying one. */
export const REFRESH_MARGIN_MS = 30_000

export interface TokenSource {
  /** A bearer token to send now; `{ fresh: true }` after a 401, to refresh whatever the clock says. */
  token: (options?: { fresh?: boolean }) => Promise<string>
}

export interface LoginTokenSourceInit {
  dataDir: string
  now?: () => number
}

export function createLoginTokenSource (init: LoginTokenSourceInit): TokenSource {
  const now = init.now ?? Date.now
  let config: client.Configuration | undefined
  let refreshing: Promise<LoginFile> | undefined

  async function current (): Promise<LoginFile> {
    const login = await readLoginFile(init.dataDir)
    if (login === undefined) throw new LoginError('ERR_LOGIN_REQUIRED', 'not logged in: run "branchcast login" (or "branchcast enroll --token")')
    return login
  }

  async function refresh (login: LoginFile): Promise<LoginFile> {
    config ??= await discoverIssuer(login.issuer, login.clientId)
    let tokens: client.TokenEndpointResponse
    try {
      tokens = await client.refreshTokenGrant(config, login.refreshToken, { resource: login.audience })
    } catch (err) {
      const code = (err as { error?: unknown }).error
      if (code === 'invalid_grant') throw new LoginError('ERR_LOGIN_REQUIRED', 'the login expired or was revoked: run "branchcast login" again', { cause: err })
      throw new LoginError('ERR_LOGIN_FAILED', `refreshing the access token failed: ${typeof code === 'string' ? code : (err as Error).message}`, { cause: err })
    }
    const next: LoginFile = {
      ...login,
      refreshToken: tokens.refresh_token ?? login.refreshToken,
      accessToken: tokens.access_token,
      accessTokenExpiresAtMs: now() + (tokens.expires_in ?? 60) * 1000
    }
    await writeLoginFile(init.dataDir, next)
    return next
  }

  return {
    async token (options = {}) {
      const login = await current()
      if (options.fresh !== true && login.accessTokenExpiresAtMs - REFRESH_MARGIN_MS > now()) return login.accessToken
      refreshing ??= refresh(login).finally(() => { refreshing = undefined })
      return (await refreshing).accessToken
    }
  }
}

/**
 * `fetch` with the source's bearer token; on a 401 it refreshes once and retries (the
 * tracker's clock may be ahead of ours). Bodies that are streams are not retried.
 */
export function authorizingFetch (source: TokenSource, baseFetch: typeof fetch = fetch): typeof fetch {
  return async function fetchWithToken (input, init = {}) {
    const send = async (fresh: boolean): Promise<Response> => {
      const headers = new Headers(init.headers)
      headers.set('authorization', `Bearer ${await source.token({ fresh })}`)
      return await baseFetch(input, { ...init, headers })
    }
    const res = await send(false)
    const replayable = init.body === undefined || init.body === null || typeof init.body === 'string'
    if (res.status !== 401 || !replayable) return res
    await res.arrayBuffer().catch(() => {})
    return await send(true)
  }
}
