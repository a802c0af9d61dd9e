/**
 * Identity: API tokens, OpenID Connect access tokens, and who a bearer token stands for. Issues tokens (the plaintext is
 * returned once, never logged), lists and revokes them, and resolves a token to a
 * `Principal` for the auth middleware (`tracker/auth.ts`, the HTTP adapter). Every token is
 * minted by `mintApiToken`; a first start mints one admin token (`bootstrapAdminToken`).
 *
 * Shaped like a libp2p service: `Init` options, `Components` dependencies, a factory that
 * reads options once, `start()` / `stop()`. Throws `TrackerError`s, never HTTP.
 */
import type { CreateToken } from '../../protocol/index.ts'
import type { TokenRecord } from '../db/store.ts'
import type { Principal, TrackerComponents } from '../env.ts'
import type { AccessTokenVerifier } from './access-token.ts'
import { IdentityService } from './identity.ts'

export { API_TOKEN_PREFIX, hashApiToken, isApiTokenShape, mintApiToken, roleColumns, tokenRole } from './api-token.ts'
export type { MintApiTokenOptions, MintedApiToken } from './api-token.ts'
export { INITIAL_ADMIN_TOKEN_FILE, bootstrapAdminToken } from './bootstrap.ts'
export { meView, tokenView } from './token-view.ts'

export { createAccessTokenVerifier, isJwtShape, principalFromClaims, roleFromClaims } from './access-token.ts'
export type { AccessTokenVerifier, AccessTokenVerifierInit, ClaimMapping } from './access-token.ts'

export type IdentityComponents = Pick<TrackerComponents, 'store' | 'now' | 'logger'> & {
  /** OpenID Connect access tokens (JWTs); without it only API tokens authenticate */
  accessTokens?: AccessTokenVerifier
}

export interface IdentityInit {
  /** longest lifetime a token may be issued with (default `MAX_TOKEN_TTL_MS`) */
  maxTokenTtlMs?: number
  /** `last used` is written at most this often per token (default `TOKEN_USE_WRITE_INTERVAL_MS`) */
  tokenUseWriteIntervalMs?: number
}

export interface Identity {
  start: () => Promise<void>
  stop: () => Promise<void>
  /**
   * The principal a bearer token stands for. An API token: undefined when it is not
   * token-shaped, unknown, revoked or expired; records `last used` (throttled; a failed
   * write is ignored). An access token (a JWT): verified, or a TrackerError `ERR_TOKEN_*`
   * saying why not.
   */
  authenticate: (token: string) => Promise<Principal | undefined>
  /**
   * Issues a token to `input.user`; `by` is the admin issuing it (logged, with no secret).
   * ERR_BAD_REQUEST naming the field for an expiry given twice, unreadable, past or beyond
   * the cap.
   */
  issue: (input: CreateToken, by: string) => Promise<{ token: string, record: TokenRecord }>
  /** Ascending by id, optionally of one user. */
  list: (filter?: { user?: string }) => Promise<TokenRecord[]>
  /** Revokes (idempotent: the first revocation time is kept); ERR_NOT_FOUND for no such token. */
  revoke: (id: number, by: string) => Promise<TokenRecord>
  /**
   * The API token a principal authenticated with (undefined for an access token or a
   * session); ERR_UNAUTHENTICATED when it has vanished.
   */
  tokenOf: (principal: Principal) => Promise<TokenRecord | undefined>
  /**
   * A client id (a node's libp2p peer id) belongs to the first user who registered it:
   * anyone else naming it gets ERR_FORBIDDEN, so nobody acts under — or overwrites —
   * another user's node. `what` names the id in the message ("peer id", "client id").
   */
  requireClientOwner: (clientId: string, user: string, what?: string) => Promise<void>
}

export function createIdentity (components: IdentityComponents, init: IdentityInit = {}): Identity {
  return new IdentityService(components, init)
}
