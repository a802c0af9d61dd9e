/**
 * `branchcast login` on a desk: the OAuth device authorization grant with openid-client.
 * Asks the tracker which issuer and client to use (`GET /auth/config`), starts the grant
 * for the tracker's resource, shows the verification URI and user code, polls at the
 * interval the provider gives (openid-client backs off on `slow_down`), and stores the
 * refresh and access tokens in `<data>/login.json` (0600). Also the way back out: revoke
 * the refresh token at the provider and delete the file.
 */
import * as client from 'openid-client'
import { AuthConfigSchema, isSecureIssuer } from '../../protocol/index.ts'
import type { AuthConfig } from '../../protocol/index.ts'
import { LoginError } from './errors.ts'
import { deleteLoginFile, readLoginFile, writeLoginFile } from './login-file.ts'
import type { LoginFile } from './login-file.ts'

/** The provider's configuration for our client; plain http only to a loopback issuer. */
export async function discoverIssuer (issuer: string, clientId: string): Promise<client.Configuration> {
  if (!isSecureIssuer(issuer)) throw new LoginError('ERR_LOGIN_FAILED', `the issuer ${issuer} is not https: refusing to send credentials to it`)
  const execute = new URL(issuer).protocol === 'http:' ? [client.allowInsecureRequests] : []
  try {
    return await client.discovery(new URL(issuer), clientId, undefined, client.None(), { execute, timeout: 30 })
  } catch (err) {
    throw new LoginError('ERR_LOGIN_FAILED', `cannot read the issuer's configuration at ${issuer}: ${(err as Error).message}`, { cause: err })
  }
}

export async function fetchAuthConfig (tracker: string, signal?: AbortSignal): Promise<AuthConfig> {
  let res: Response
  try {
    res = await fetch(`${tracker}/auth/config`, { signal })
  } catch (err) {
    throw new LoginError('ERR_LOGIN_FAILED', `cannot reach the tracker at ${tracker}: ${String((err as Error).cause ?? (err as Error).message)}`, { cause: err })
  }
  const parsed = AuthConfigSchema.safeParse(res.ok ? await res.json().catch(() => undefined) : undefined)
  if (!parsed.success) throw new LoginError('ERR_LOGIN_FAILED', `${tracker} does not offer OpenID Connect login (GET /auth/config answered ${res.status}); use "branchcast enroll --token"`)
  return parsed.data
}

export interface DeviceLoginOptions {
  tracker: string
  dataDir: string
  /** shows the URI and code to the person at the desk */
  prompt: (info: { verificationUri: string, verificationUriComplete?: string, userCode: string, expiresInSeconds: number }) => void
  signal?: AbortSignal
  now?: () => number
}

function loginFailure (err: unknown): LoginError {
  const code = (err as { error?: unknown }).error
  if (code === 'expired_token') return new LoginError('ERR_LOGIN_EXPIRED', 'the code expired before anyone approved it: run "branchcast login" again', { cause: err })
  if (code === 'access_denied') return new LoginError('ERR_LOGIN_DENIED', 'the sign-in was denied at the provider', { cause: err })
  if (typeof code === 'string') return new LoginError('ERR_LOGIN_FAILED', `the provider refused: ${code}`, { cause: err })
  return new LoginError('ERR_LOGIN_FAILED', `login failed: ${(err as Error).message}`, { cause: err })
}

export async function deviceLogin (options: DeviceLoginOptions): Promise<LoginFile> {
  const now = options.now ?? Date.now
  const tracker = options.tracker.replace(/\/+$/, '')
  const auth = await fetchAuthConfig(tracker, options.signal)
  const config = await discoverIssuer(auth.issuer, auth.cliClientId)
  let tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers
  try {
    const started = await client.initiateDeviceAuthorization(config, { scope: 'openid offline_access', resource: auth.audience })
    options.prompt({ verificationUri: started.verification_uri, verificationUriComplete: started.verification_uri_complete, userCode: started.user_code, expiresInSeconds: started.expires_in })
    tokens = await client.pollDeviceAuthorizationGrant(config, started, { resource: auth.audience }, { signal: options.signal })
  } catch (err) {
    if (options.signal?.aborted === true) throw err
    throw loginFailure(err)
  }
  if (tokens.refresh_token === undefined) throw new LoginError('ERR_LOGIN_FAILED', 'the provider gave no refresh token (does the client allow the refresh_token grant?)')
  const login: LoginFile = {
    tracker,
    issuer: auth.issuer,
    clientId: auth.cliClientId,
    audience: auth.audience,
    user: tokens.claims()?.sub,
    refreshToken: tokens.refresh_token,
    accessToken: tokens.access_token,
    accessTokenExpiresAtMs: now() + (tokens.expires_in ?? 60) * 1000
  }
  await writeLoginFile(options.dataDir, login)
  return login
}

/** Revokes the stored refresh token (best effort: the provider may be gone) and deletes the file. */
export async function deviceLogout (dataDir: string): Promise<{ removed: boolean, revoked: boolean }> {
  const login = await readLoginFile(dataDir)
  if (login === undefined) return { removed: false, revoked: false }
  let revoked = false
  try {
    const config = await discoverIssuer(login.issuer, login.clientId)
    await client.tokenRevocation(config, login.refreshToken, { token_type_hint: 'refresh_token' })
    revoked = true
  } catch {}
  return { removed: await deleteLoginFile(dataDir), revoked }
}
