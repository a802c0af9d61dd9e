/**
 * The API token format and the one place tokens are minted: `bct_` + 32 random bytes
 * (base64url). Only the SHA-256 of a token is stored; the plaintext leaves here once, to
 * whoever asked for it, and is never logged.
 */
import { createHash, randomBytes } from 'node:crypto'
import type { Role } from '../../protocol/index.ts'
import type { CreateTokenInput, TokenRecord, TrackerStore } from '../db/store.ts'

export const API_TOKEN_PREFIX = 'bct_'
const API_TOKEN_RE = /^bct_[A-Za-z0-9_-]{43}$/

export function hashApiToken (token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

export function isApiTokenShape (token: string): boolean {
  return API_TOKEN_RE.test(token)
}

/** The role a token row carries (`is_admin` + `read_only`). */
export function tokenRole (t: Pick<TokenRecord, 'isAdmin' | 'readOnly'>): Role {
  return !t.isAdmin ? 'user' : t.readOnly ? 'read-only-admin' : 'admin'
}

/** The columns that store `role`. */
export function roleColumns (role: Role): Pick<CreateTokenInput, 'isAdmin' | 'readOnly'> {
  return { isAdmin: role !== 'user', readOnly: role === 'read-only-admin' }
}

export interface MintedApiToken {
  /** the plaintext bearer token: hand it to the caller once */
  token: string
  record: TokenRecord
}

export interface MintApiTokenOptions {
  /**
   * Receives the plaintext before the token is stored, so a crash in between leaves no
   * valid token that nobody holds (the first-start file is written this way).
   */
  beforeStore?: (token: string) => Promise<void>
}

/**
 * Makes a new token and stores its hash with `input`. Every token — issued over the API,
 * by `branchcast token` on the tracker host, on a first start, in tests and benches — is
 * made here. Checks nothing about `input`: callers validate (the identity service does).
 */
export async function mintApiToken (store: Pick<TrackerStore, 'createToken'>, input: Omit<CreateTokenInput, 'tokenHash'>, options: MintApiTokenOptions = {}): Promise<MintedApiToken> {
  const token = API_TOKEN_PREFIX + randomBytes(32).toString('base64url')
  await options.beforeStore?.(token)
  const record = await store.createToken({ ...input, tokenHash: hashApiToken(token) })
  return { token, record }
}
