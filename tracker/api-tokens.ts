/**
 * API tokens as admins see them (never the hash or the plaintext) and the expiry rule for
 * issuing one; shared by `routes/tokens.ts` and `branchcast token`, which runs on the
 * tracker host without loading the HTTP app.
 */
import type { TokenRecord } from './db/store.ts'
import { badRequest } from './errors.ts'
import { MAX_TOKEN_TTL_MS } from './constants.ts'
import { parseDurationMs } from '../protocol/index.ts'

export interface TokenView {
  id: number
  user: string
  groups: string[]
  admin: boolean
  kind: 'user' | 'machine'
  label: string
  createdAt: string
  expiresAt: string | null
  revokedAt: string | null
  lastUsedAt: string | null
  status: 'active' | 'revoked' | 'expired'
}

const iso = (ms: number | null): string | null => ms === null ? null : new Date(ms).toISOString()

export function tokenView (t: TokenRecord, nowMs: number): TokenView {
  return {
    id: t.id,
    user: t.user,
    groups: t.groups,
    admin: t.isAdmin,
    kind: t.kind,
    label: t.label,
    createdAt: new Date(t.createdAtMs).toISOString(),
    expiresAt: iso(t.expiresAtMs),
    revokedAt: iso(t.revokedAtMs),
    lastUsedAt: iso(t.lastUsedAtMs),
    status: t.revokedAtMs !== null ? 'revoked' : t.expiresAtMs !== null && t.expiresAtMs <= nowMs ? 'expired' : 'active'
  }
}

/**
 * The absolute expiry a request asks for (`expiresIn` like "30d", or `expiresAtMs`), checked
 * against `nowMs`; null = never. Throws an ERR_BAD_REQUEST `TrackerError` naming the field.
 */
export function tokenExpiry (body: { expiresIn?: string, expiresAtMs?: number }, nowMs: number): number | null {
  if (body.expiresIn !== undefined && body.expiresAtMs !== undefined) throw badRequest('expiresIn: give expiresIn or expiresAtMs, not both')
  let at: number | null = null
  if (body.expiresIn !== undefined) {
    try {
      at = nowMs + parseDurationMs(body.expiresIn)
    } catch (err) {
      throw badRequest(`expiresIn: ${(err as Error).message}`)
    }
  }
  if (body.expiresAtMs !== undefined) at = body.expiresAtMs
  if (at !== null && at <= nowMs) throw badRequest('expiresAtMs: the token would already be expired')
  if (at !== null && at - nowMs > MAX_TOKEN_TTL_MS) throw badRequest(`expiresIn: at most ${MAX_TOKEN_TTL_MS / 86_400_000} days`)
  return at
}
