/**
 * Identity records as the API answers them (`protocol/api/tokens.ts`, `protocol/api/me.ts`):
 * never the hash, never the plaintext. Pure; the clock is passed in.
 */
import { isoTime } from '../../protocol/index.ts'
import type { Me, Token } from '../../protocol/index.ts'
import type { TokenRecord } from '../db/store.ts'
import type { Principal } from '../env.ts'
import { tokenRole } from './api-token.ts'

export function tokenView (t: TokenRecord, nowMs: number): Token {
  return {
    id: t.id,
    user: t.user,
    groups: t.groups,
    admin: t.isAdmin,
    role: tokenRole(t),
    kind: t.kind,
    label: t.label,
    createdAt: isoTime(t.createdAtMs),
    expiresAt: isoTime(t.expiresAtMs),
    revokedAt: isoTime(t.revokedAtMs),
    lastUsedAt: isoTime(t.lastUsedAtMs),
    status: t.revokedAtMs !== null ? 'revoked' : t.expiresAtMs !== null && t.expiresAtMs <= nowMs ? 'expired' : 'active'
  }
}

/** The caller and the API token it called with (none for an access token or a session). */
export function meView (p: Principal, token: TokenRecord | undefined): Me {
  return {
    user: p.user,
    groups: p.groups,
    admin: p.admin,
    role: p.role,
    kind: p.kind,
    via: p.via,
    token: token === undefined ? null : { id: token.id, label: token.label, createdAt: isoTime(token.createdAtMs), expiresAt: isoTime(token.expiresAtMs), expiresAtMs: token.expiresAtMs }
  }
}
