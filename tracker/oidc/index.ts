/**
 * OpenID Connect for the tracker: verifying the issuer's access tokens (through identity),
 * the console's login and sessions (openid-client, code + PKCE), and — with no issuer
 * configured — the embedded development provider (`oidc-provider` under `/oidc`, users in
 * `<data>/users.json`, a generated admin password in `<data>/initial-admin-password`).
 *
 * Shaped like a libp2p service, with one difference: `start()` runs after the HTTP server
 * listens (server.ts), since the embedded issuer is the tracker's own URL.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AuthConfig } from '../../protocol/index.ts'
import type { TrackerComponents } from '../env.ts'
import type { AccessTokenVerifier } from '../identity/index.ts'
import type { ConsoleLogin } from './console-login.ts'
import { OidcService } from './oidc.ts'

export { PROVIDER_MOUNT, ROLE_CLAIM } from './provider.ts'
export { LOGIN_COOKIE, SESSION_COOKIE } from './constants.ts'
export { INITIAL_ADMIN_PASSWORD_FILE, USERS_FILE, hashPassword, verifyPassword } from './users.ts'
export { createSealer } from './sealed.ts'
export type { ConsoleLogin, SessionResume } from './console-login.ts'

export type OidcComponents = Pick<TrackerComponents, 'config' | 'now' | 'logger'>

export interface Oidc {
  /** `localUrl`: where this process listens, for calls to its own embedded provider */
  start: (options?: { localUrl?: string }) => Promise<void>
  stop: () => Promise<void>
  /** The embedded provider's handler for `/oidc…` requests; undefined with an external issuer or before start. */
  handler: () => ((req: IncomingMessage, res: ServerResponse) => void) | undefined
  /** What `GET /auth/config` answers: issuer, audience, client ids. ERR_UNAVAILABLE before start. */
  authConfig: () => AuthConfig
  /** The issuer's access tokens → principals (identity asks this). ERR_UNAVAILABLE before start. */
  readonly accessTokens: AccessTokenVerifier
  /** The console's login and sessions. ERR_UNAVAILABLE (thrown on access) before start. */
  readonly console: ConsoleLogin
  /** Set on the embedded provider's first start: the file holding the generated admin password. */
  readonly initialPasswordFile: string | undefined
}

export function createOidc (components: OidcComponents): Oidc {
  return new OidcService(components)
}
