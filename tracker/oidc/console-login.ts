/**
 * The console's login, server side, with openid-client: authorization code + PKCE (S256)
 * with state and nonce kept in a sealed, short-lived login cookie; the session is a sealed
 * cookie holding the tokens (no server-side table, so any tracker process on the database
 * can serve it), bounded by an absolute lifetime and renewed with the refresh token when
 * the access token is due. Logout revokes the refresh token and ends the provider's
 * session (RP-initiated logout) when the provider supports it.
 */
import * as client from 'openid-client'
import type { Principal } from '../env.ts'
import { isTrackerError, unauthenticated } from '../errors.ts'
import type { AccessTokenVerifier } from '../identity/index.ts'
import { ACCESS_TOKEN_REFRESH_MARGIN_MS, LOGIN_COOKIE_TTL_SECONDS } from './constants.ts'
import type { Sealer } from './sealed.ts'

const LOGIN = 'console-login'
const SESSION = 'console-session'

interface LoginState { state: string, nonce: string, verifier: string }

interface SessionState {
  /** access token, its expiry (ms), refresh token, id token (for logout) */
  at: string
  atExp: number
  rt?: string
  idt?: string
  /** absolute end of the session (ms): refreshes do not extend it */
  end: number
}

export interface ConsoleLoginInit {
  /** the provider's configuration for the console's client (discovered on first use) */
  config: () => Promise<client.Configuration>
  /** the tracker's resource, asked for so the access token is a JWT for it */
  audience: string
  /** `<tracker>/console/callback` */
  redirectUri: string
  /** `<tracker>/console` */
  postLogoutRedirectUri: string
  sessionTtlSeconds: number
  sealer: Sealer
  accessTokens: AccessTokenVerifier
  now: () => number
}

export interface SessionResume {
  principal: Principal
  /** a renewed cookie value (tokens refreshed) and its absolute end, to set on the answer */
  renewed?: { cookie: string, expiresAtMs: number }
}

export interface ConsoleLogin {
  /** The provider's authorization URL and the login cookie to set. */
  begin: () => Promise<{ url: URL, cookie: string, maxAgeSeconds: number }>
  /** Finishes the code flow at the callback URL; returns the session cookie. */
  finish: (callbackUrl: URL, loginCookie: string | undefined) => Promise<{ cookie: string, expiresAtMs: number, principal: Principal }>
  /** The session cookie's principal, refreshing its tokens when due; undefined = no (longer a) session. */
  resume: (sessionCookie: string) => Promise<SessionResume | undefined>
  /** Revokes the session's refresh token; the URL to send the browser to (the provider's logout, or the console). */
  logout: (sessionCookie: string | undefined) => Promise<URL>
}

export function createConsoleLogin (init: ConsoleLoginInit): ConsoleLogin {
  const { audience, sealer, accessTokens, now } = init
  /** one refresh per refresh token at a time: parallel requests of one browser share it */
  const refreshing = new Map<string, Promise<SessionState | undefined>>()

  async function sessionFrom (tokens: client.TokenEndpointResponse, previous: SessionState | undefined): Promise<SessionState> {
    const nowMs = now()
    return {
      at: tokens.access_token,
      atExp: nowMs + (tokens.expires_in ?? 60) * 1000,
      rt: tokens.refresh_token ?? previous?.rt,
      idt: tokens.id_token ?? previous?.idt,
      end: previous?.end ?? nowMs + init.sessionTtlSeconds * 1000
    }
  }

  async function refresh (s: SessionState): Promise<SessionState | undefined> {
    if (s.rt === undefined) return undefined
    const rt = s.rt
    let pending = refreshing.get(rt)
    if (pending === undefined) {
      pending = (async () => {
        try {
          return await sessionFrom(await client.refreshTokenGrant(await init.config(), rt, { resource: audience }), s)
        } catch {
          return undefined // revoked, expired, or the provider forgot it: log in again
        } finally {
          refreshing.delete(rt)
        }
      })()
      refreshing.set(rt, pending)
    }
    return await pending
  }

  async function verified (s: SessionState): Promise<Principal | undefined> {
    try {
      return { ...await accessTokens.verify(s.at), via: 'session' }
    } catch (err) {
      if (isTrackerError(err, 'ERR_TOKEN_EXPIRED')) return undefined
      throw err
    }
  }

  return {
    async begin () {
      const login: LoginState = { state: client.randomState(), nonce: client.randomNonce(), verifier: client.randomPKCECodeVerifier() }
      const url = client.buildAuthorizationUrl(await init.config(), {
        redirect_uri: init.redirectUri,
        scope: 'openid profile offline_access',
        response_type: 'code',
        code_challenge: await client.calculatePKCECodeChallenge(login.verifier),
        code_challenge_method: 'S256',
        state: login.state,
        nonce: login.nonce,
        resource: audience
      })
      const cookie = await sealer.seal(LOGIN, login, now() + LOGIN_COOKIE_TTL_SECONDS * 1000)
      return { url, cookie, maxAgeSeconds: LOGIN_COOKIE_TTL_SECONDS }
    },

    async finish (callbackUrl, loginCookie) {
      const login = loginCookie === undefined ? undefined : await sealer.open<LoginState>(LOGIN, loginCookie, now())
      if (login === undefined) throw unauthenticated('the login took too long or started in another browser: start again at /console/login')
      let tokens: client.TokenEndpointResponse
      try {
        tokens = await client.authorizationCodeGrant(await init.config(), callbackUrl, {
          pkceCodeVerifier: login.verifier,
          expectedState: login.state,
          expectedNonce: login.nonce,
          idTokenExpected: true
        }, { resource: audience })
      } catch (err) {
        throw unauthenticated(`login failed: ${(err as { error?: string }).error ?? (err as Error).message}`)
      }
      const session = await sessionFrom(tokens, undefined)
      const principal = await verified(session)
      if (principal === undefined) throw unauthenticated('the provider issued an expired access token')
      return { cookie: await sealer.seal(SESSION, session, session.end), expiresAtMs: session.end, principal }
    },

    async resume (sessionCookie) {
      const nowMs = now()
      const s = await sealer.open<SessionState>(SESSION, sessionCookie, nowMs)
      if (s === undefined) return undefined
      if (s.atExp - ACCESS_TOKEN_REFRESH_MARGIN_MS > nowMs) {
        const principal = await verified(s)
        if (principal !== undefined) return { principal }
      }
      const renewed = await refresh(s)
      if (renewed === undefined) return undefined
      const principal = await verified(renewed)
      if (principal === undefined) return undefined
      return { principal, renewed: { cookie: await sealer.seal(SESSION, renewed, renewed.end), expiresAtMs: renewed.end } }
    },

    async logout (sessionCookie) {
      const s = sessionCookie === undefined ? undefined : await sealer.open<SessionState>(SESSION, sessionCookie, now())
      const config = await init.config()
      if (s?.rt !== undefined) await client.tokenRevocation(config, s.rt, { token_type_hint: 'refresh_token' }).catch(() => {})
      if (config.serverMetadata().end_session_endpoint === undefined) return new URL(init.postLogoutRedirectUri)
      return client.buildEndSessionUrl(config, {
        post_logout_redirect_uri: init.postLogoutRedirectUri,
        ...(s?.idt === undefined ? { client_id: config.clientMetadata().client_id } : { id_token_hint: s.idt })
      })
    }
  }
}
